import { inspect } from 'node:util';

import { alignColumns } from '../cli/output';

/**
 * What a kernel shows for a value: `text/plain` always, usually `text/html` and `application/json`.
 * Deno requires the JSON to be an object at the top level, so lists are wrapped (`{ sessions: [...] }`).
 */
export interface MimeBundle {
  'text/plain': string;
  'text/html'?: string;
  'application/json'?: Record<string, unknown>;
  [mime: string]: unknown;
}

/** Deno's kernel calls `value[Symbol.for('Jupyter.display')]()` on the result of a cell. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display') as never;

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text made safe for HTML content and attribute values. Every value that reaches our HTML goes through
 * this: session names, images, log text and notebook paths come from users and from the platform.
 */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** Right-aligned (numbers). */
  right?: boolean;
}

/** A cell's text: `-` for nothing, ISO dates shortened to the second, everything on one line. */
export function cellText(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? '-' : value.toISOString().replace(/\.\d{3}Z$/, 'Z');
  return String(value).replace(/\s*\n\s*/g, ' ');
}

/** An aligned text table (the CLI's layout, see alignColumns), no trailing newline. */
export function textTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  return alignColumns(
    columns,
    rows.map((row) => columns.map((c) => cellText(c.value(row)))),
  );
}

// Minimal inline styles: notebooks render output HTML without our stylesheet (and nbconvert exports
// keep it), and classes alone would show nothing. No scripts, no event handlers, no external resources.
const TABLE_STYLE = 'border-collapse:collapse;font-size:0.9em';
const CELL_STYLE = 'padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top';
const CAPTION_STYLE = 'text-align:left;font-weight:bold;padding:2px 0';

/** An HTML table of escaped values (`data-canfar` names which table it is, for tests and styling). */
export function htmlTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  options: { caption?: string; kind: string; empty?: string },
): string {
  const align = (c: Column<T>) => (c.right ? `${CELL_STYLE};text-align:right` : CELL_STYLE);
  const head = columns.map((c) => `<th style="${align(c)}">${escapeHtml(c.header)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${columns.map((c) => `<td style="${align(c)}">${escapeHtml(cellText(c.value(row)))}</td>`).join('')}</tr>`,
    )
    .join('\n');
  const caption = options.caption
    ? `<caption style="${CAPTION_STYLE}">${escapeHtml(options.caption)}</caption>`
    : '';
  const empty =
    rows.length === 0
      ? `<tr><td colspan="${columns.length}" style="${CELL_STYLE}">${escapeHtml(options.empty ?? 'none')}</td></tr>`
      : '';
  return `<table data-canfar="${escapeHtml(options.kind)}" style="${TABLE_STYLE}">${caption}<thead><tr>${head}</tr></thead><tbody>${body}${empty}</tbody></table>`;
}

/** A preformatted block of escaped text (logs). */
export function htmlPre(text: string, kind: string): string {
  return `<pre data-canfar="${escapeHtml(kind)}" style="white-space:pre-wrap;margin:0">${escapeHtml(text)}</pre>`;
}

/** Dates as ISO strings and no functions: what `application/json` and `toJSON()` carry. */
export function plainData<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v) => (v instanceof Date ? v.toISOString() : v))) as T;
}

/**
 * How a result shows itself in every kernel: Deno calls `[Symbol.for('Jupyter.display')]()`, ijavascript
 * calls `_toMime()`, tslab and a plain `node` print `util.inspect(value)` (text), `String(value)` gives
 * the text too, and `JSON.stringify(value)` the data. tslab shows rich output only through an explicit
 * `display(value)` (see display.ts).
 */
export interface Displayable {
  mimeBundle(): MimeBundle;
}

/** Adds the display protocol of every kernel to a class with a `mimeBundle()` method. */
export function displayable<C extends abstract new (...args: never[]) => Displayable>(base: C): C {
  const proto = base.prototype as Displayable & Record<PropertyKey, unknown>;
  Object.defineProperties(proto, {
    [JUPYTER_DISPLAY]: {
      value: function (this: Displayable) {
        return this.mimeBundle();
      },
    },
    _toMime: {
      value: function (this: Displayable) {
        return this.mimeBundle();
      },
    },
    [inspect.custom]: {
      value: function (this: Displayable) {
        return this.mimeBundle()['text/plain'];
      },
    },
    toString: {
      value: function (this: Displayable) {
        return this.mimeBundle()['text/plain'];
      },
    },
  });
  return base;
}

/** The mime bundle of any value: its own when it is displayable, else text (and JSON when it is data). */
export function mimeBundleOf(value: unknown): MimeBundle {
  if (value && typeof (value as Displayable).mimeBundle === 'function')
    return (value as Displayable).mimeBundle();
  if (typeof value === 'string') return { 'text/plain': value };
  const bundle: MimeBundle = { 'text/plain': inspect(value, { depth: 4, colors: false }) };
  if (value !== null && typeof value === 'object') {
    try {
      const data = plainData(value);
      bundle['application/json'] = (Array.isArray(data) ? { items: data } : data) as Record<string, unknown>;
    } catch {
      // Cyclic or otherwise not JSON: text only.
    }
  }
  return bundle;
}
