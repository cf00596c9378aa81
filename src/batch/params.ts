/**
 * Parameter values, as the user gives them (CLI `--param`/`--sweep`, the dialog's fields, the kernel
 * API's typed values), checked against the type of the notebook's default and reduced to the text the
 * replica's runtime receives in `CANFAR_PARAM_<NAME>` (before `encodeParamEnv`). The runtime types that
 * text like the default (src/convert's prelude): int(), float(), true/false words, the string as is, a
 * JSON or Python literal for lists and dicts.
 *
 * A `str` parameter takes its value as written, except that a whole quoted literal (`"gaussian"`,
 * `'a,b'`, `"""..."""`, with Python's escapes) stands for the string inside: the dialog shows the
 * notebook's default as written (`"gaussian"`), and editing inside the quotes must mean the same as
 * typing the bare word. So any string can be given: one that itself starts and ends with quotes is
 * written as a literal (`'"quoted"'`).
 */
import type { NotebookParameter } from '../convert';

/** A value given by a program (the kernel API, a JSON sweep file): typed, or text to parse. */
export type ParamValue = string | number | boolean | null | ParamValue[] | { [key: string]: ParamValue };

export interface ParsedParam {
  /** What the replica receives (before `encodeParamEnv`), and what records show. */
  text: string;
  /** Canonical form: two values with the same key are the same value (`1_000` and `1000`). */
  key: string;
}

export type ParamCheck = ({ ok: true } & ParsedParam) | { ok: false; rule: string };

const INT = /^[+-]?\d(_?\d)*$/;
const FLOAT = /^[+-]?((\d(_?\d)*)?\.?\d(_?\d)*([eE][+-]?\d+)?|\d(_?\d)*\.|inf(inity)?|nan)$/i;
const BOOL = /^(true|false|1|0|yes|no|on|off)$/i;

const fail = (rule: string): ParamCheck => ({ ok: false, rule });

/**
 * Checks `value` against the type of `parameter`'s default and gives the text sent and its canonical
 * key, or the rule it breaks (naming the expected form).
 */
export function checkParamValue(parameter: Pick<NotebookParameter, 'type'>, value: ParamValue): ParamCheck {
  const type = parameter.type;
  if (value === null && type !== 'none' && type !== 'other')
    return fail(`must be a ${typeName(type)}, not null (the default in the notebook is a ${typeName(type)})`);
  switch (type) {
    case 'int': {
      if (typeof value === 'number')
        return Number.isSafeInteger(value)
          ? { ok: true, text: String(value), key: String(value) }
          : fail('must be a whole number (the default in the notebook is an int)');
      if (typeof value !== 'string' || !INT.test(value.trim()))
        return fail('must be a whole number (the default in the notebook is an int)');
      const text = value.trim();
      return { ok: true, text, key: BigInt(text.replace(/_/g, '')).toString() };
    }
    case 'float': {
      if (typeof value === 'number') {
        const text = Number.isNaN(value)
          ? 'nan'
          : value === Infinity
            ? 'inf'
            : value === -Infinity
              ? '-inf'
              : String(value);
        return { ok: true, text, key: text };
      }
      if (typeof value !== 'string' || !FLOAT.test(value.trim()))
        return fail('must be a number (the default in the notebook is a float)');
      const text = value.trim();
      return { ok: true, text, key: floatKey(text) };
    }
    case 'bool': {
      if (typeof value === 'boolean') return { ok: true, text: String(value), key: String(value) };
      if (typeof value !== 'string' || !BOOL.test(value.trim()))
        return fail('must be true or false (the default in the notebook is a bool)');
      const text = value.trim();
      return { ok: true, text, key: String(/^(true|1|yes|on)$/i.test(text)) };
    }
    case 'str': {
      if (typeof value === 'number' || typeof value === 'boolean')
        return { ok: true, text: String(value), key: String(value) };
      if (typeof value !== 'string')
        return fail('must be a string (the default in the notebook is a str), not a list or an object');
      const text = unquoteStringLiteral(value) ?? value;
      return { ok: true, text, key: text };
    }
    case 'list':
    case 'dict': {
      const wanted = type === 'list' ? 'list' : 'dict';
      const parsed = typeof value === 'string' ? parsePythonLiteral(value) : { value };
      const ok =
        parsed !== undefined &&
        (type === 'list'
          ? Array.isArray(parsed.value)
          : parsed.value !== null && typeof parsed.value === 'object' && !Array.isArray(parsed.value));
      if (!ok)
        return fail(
          `must be a ${wanted} literal (JSON or Python), e.g. ${type === 'list' ? '[1, 2]' : '{"a": 1}'} (the default in the notebook is a ${wanted})`,
        );
      const json = canonicalJson(parsed.value);
      return { ok: true, text: typeof value === 'string' ? value.trim() : json, key: json };
    }
    default: {
      // None or an expression: the runtime takes a JSON or Python literal, else the text itself.
      if (typeof value === 'string') return { ok: true, text: value, key: value };
      const json = canonicalJson(value);
      return { ok: true, text: json, key: json };
    }
  }
}

/** The canonical key of the notebook's default (what an unchanged value compares equal to). */
export function defaultKey(parameter: Pick<NotebookParameter, 'type' | 'default'>): string {
  const check = checkParamValue(
    parameter,
    parameter.type === 'bool' ? pythonBool(parameter.default) : parameter.default,
  );
  return check.ok ? check.key : parameter.default;
}

function pythonBool(text: string): string {
  return text.trim() === 'True' ? 'true' : text.trim() === 'False' ? 'false' : text;
}

function typeName(type: string): string {
  return type === 'int'
    ? 'whole number'
    : type === 'float'
      ? 'number'
      : type === 'bool'
        ? 'true or false'
        : type;
}

function floatKey(text: string): string {
  const t = text.replace(/_/g, '').toLowerCase();
  if (/^[+-]?inf(inity)?$/.test(t)) return t.startsWith('-') ? '-inf' : 'inf';
  if (/^[+-]?nan$/.test(t)) return 'nan';
  return String(Number(t));
}

/** JSON with object keys sorted, so that equal values have equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
};

/**
 * The string a whole Python (or JSON) string literal stands for: optional `u`/`r` prefix, `'...'`,
 * `"..."`, `'''...'''` or `"""..."""`, with Python's escapes; undefined when `text` is not exactly one
 * such literal (`"a" + "b"`, `f"..."`, an unterminated quote).
 */
export function unquoteStringLiteral(text: string): string | undefined {
  const t = text.trim();
  const match = /^([uUrR]?)('''|"""|'|")/.exec(t);
  if (!match) return undefined;
  const raw = match[1].toLowerCase() === 'r';
  const quote = match[2];
  const body = t.slice(match[0].length, t.length - quote.length);
  if (t.length < match[0].length + quote.length || !t.endsWith(quote)) return undefined;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char === '\\') {
      if (i + 1 >= body.length) return undefined; // the backslash escapes the closing quote
      const next = body[i + 1];
      if (raw) {
        out += char + next;
        i += 1;
        continue;
      }
      if (next === '\n') {
        i += 1;
        continue;
      }
      if (next in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[next];
        i += 1;
        continue;
      }
      const hex = { x: 2, u: 4, U: 8 }[next];
      if (hex !== undefined) {
        const digits = body.slice(i + 2, i + 2 + hex);
        if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(digits)) return undefined;
        out += String.fromCodePoint(parseInt(digits, 16));
        i += 1 + hex;
        continue;
      }
      out += char; // an unknown escape keeps its backslash, as in Python
      continue;
    }
    if (quote.length === 1 && (char === quote || char === '\n')) return undefined;
    if (quote.length === 3 && body.startsWith(quote, i)) return undefined;
    out += char;
  }
  return out;
}

/**
 * A JSON or Python literal (lists, tuples, dicts, strings, numbers, True/False/None, trailing commas)
 * as a JSON value; undefined when the text is not one.
 */
export function parsePythonLiteral(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    // Not JSON: try the Python forms below.
  }
  const s = text;
  let i = 0;
  const space = () => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const value = (): unknown => {
    space();
    const c = s[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const items: unknown[] = [];
      for (;;) {
        space();
        if (s[i] === close) {
          i++;
          return items;
        }
        items.push(value());
        space();
        if (s[i] === ',') i++;
        else if (s[i] !== close) throw new Error('expected , or ' + close);
      }
    }
    if (c === '{') {
      i++;
      const object: Record<string, unknown> = {};
      for (;;) {
        space();
        if (s[i] === '}') {
          i++;
          return object;
        }
        const key = value();
        space();
        if (s[i] !== ':') throw new Error('expected :');
        i++;
        object[typeof key === 'string' ? key : JSON.stringify(key)] = value();
        space();
        if (s[i] === ',') i++;
        else if (s[i] !== '}') throw new Error('expected , or }');
      }
    }
    const literal = /^[uUrR]?('''|"""|'|")/.exec(s.slice(i));
    if (literal) {
      const quote = literal[1];
      let j = i + literal[0].length;
      for (; j < s.length; j++) {
        if (s[j] === '\\') j++;
        else if (s.startsWith(quote, j)) break;
      }
      const decoded = unquoteStringLiteral(s.slice(i, j + quote.length));
      if (decoded === undefined) throw new Error('bad string');
      i = j + quote.length;
      return decoded;
    }
    const word = /^(True|False|None|[+-]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d+)?)/.exec(s.slice(i));
    if (!word) throw new Error('unexpected text');
    i += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace(/_/g, ''));
  };
  try {
    const result = value();
    space();
    return i === s.length ? { value: result } : undefined;
  } catch {
    return undefined;
  }
}
