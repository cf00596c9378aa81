/**
 * Finding IPython syntax in a Python cell, the way IPython's input transformers (IPython 8,
 * `IPython.core.inputtransformer2`) do: a cell magic `%%name` on the first non-empty line; and, at the start of a
 * logical line (any indentation), `!cmd`, `!!cmd`, `%magic args`, `x = !cmd`, `x = %magic args`, `obj?`,
 * `obj??`, `?obj`. A line ending in a backslash continues the escape on the next line.
 */
import { atLogicalLineStart, initialLexState, lexLine, type LexState } from './pylex';

export interface CellMagic {
  name: string;
  /** The rest of the `%%name` line, as IPython passes it (leading space kept, trailing space removed). */
  args: string;
  /** The cell without its first line, ending in a newline (IPython appends one when missing). */
  body: string;
  /** 1-based line of the `%%name` line in the cell. */
  line: number;
}

export type LineMagic =
  | { kind: 'system'; cmd: string }
  | { kind: 'getoutput'; cmd: string }
  | { kind: 'magic'; name: string; args: string }
  | { kind: 'help'; target: string; double: boolean };

export interface MagicLine {
  /** 1-based first line in the cell; `lineCount` physical lines (continuations included). */
  line: number;
  lineCount: number;
  indent: string;
  /** `x` in `x = !cmd`: the assignment target, as written. */
  target?: string;
  magic: LineMagic;
  /** The physical lines as written. */
  original: string[];
}

/** A line of Python; `statementStart` when it begins a logical line (not inside a string or brackets). */
export type CellPiece = { code: string; line: number; statementStart: boolean } | MagicLine;

export interface ScannedCell {
  cellMagic?: CellMagic;
  pieces: CellPiece[];
}

const HELP_END = /^(\s*)(%{0,2}[a-zA-Z_*][\w*]*(?:\.[a-zA-Z_*][\w*]*)*)(\?\??)\s*$/;
const HELP_START = /^(\s*)(\?\??)(%{0,2}[a-zA-Z_*][\w*]*(?:\.[a-zA-Z_*][\w*]*)*)\s*$/;
const ASSIGN = /^(\s*)([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*([!%])(.*)$/;
const ESCAPE = /^(\s*)(!!|!|%)(.*)$/;

function splitLines(source: string): string[] {
  const lines = source.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** IPython's assemble_continued_line: `a \` + `b` -> `a  b` (each part right-stripped, then joined by a space). */
function assembleContinued(parts: string[]): string {
  return [
    ...parts.slice(0, -1).map((part) => part.trimEnd().slice(0, -1)),
    parts[parts.length - 1].trimEnd(),
  ].join(' ');
}

function magicOf(escape: string, content: string): LineMagic {
  if (escape === '!') return { kind: 'system', cmd: content };
  if (escape === '!!') return { kind: 'getoutput', cmd: content };
  const space = content.indexOf(' ');
  return space < 0
    ? { kind: 'magic', name: content, args: '' }
    : { kind: 'magic', name: content.slice(0, space), args: content.slice(space + 1) };
}

export function scanCell(source: string): ScannedCell {
  const lines = splitLines(source);
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first += 1;
  if (first < lines.length && lines[first].startsWith('%%')) {
    const head = lines[first].slice(2).trimEnd();
    const space = head.indexOf(' ');
    const rest = lines.slice(first + 1);
    return {
      cellMagic: {
        name: space < 0 ? head : head.slice(0, space),
        args: space < 0 ? '' : head.slice(space + 1),
        body: rest.length === 0 ? '' : rest.join('\n') + '\n',
        line: first + 1,
      },
      pieces: [],
    };
  }
  const pieces: CellPiece[] = [];
  let state: LexState = initialLexState();
  for (let i = 0; i < lines.length; i += 1) {
    const text = lines[i];
    const statementStart = atLogicalLineStart(state);
    if (statementStart) {
      const magic = matchMagic(lines, i);
      if (magic) {
        pieces.push(magic);
        i += magic.lineCount - 1;
        continue;
      }
    }
    state = lexLine(state, text);
    pieces.push({ code: text, line: i + 1, statementStart });
  }
  return { pieces };
}

function matchMagic(lines: string[], start: number): MagicLine | undefined {
  const text = lines[start];
  const help = HELP_END.exec(text) ?? HELP_START.exec(text);
  if (help) {
    const startForm = HELP_START.exec(text) !== null && HELP_END.exec(text) === null;
    const target = startForm ? help[3] : help[2];
    const marks = startForm ? help[2] : help[3];
    return {
      line: start + 1,
      lineCount: 1,
      indent: help[1],
      magic: { kind: 'help', target, double: marks === '??' },
      original: [text],
    };
  }
  const assign = ASSIGN.exec(text);
  const escape = assign ? undefined : ESCAPE.exec(text);
  if (!assign && !escape) return undefined;
  // The escape runs to the end of its logical line: through every line that ends with a backslash.
  let end = start;
  while (end < lines.length - 1 && lines[end].trimEnd().endsWith('\\')) end += 1;
  const original = lines.slice(start, end + 1);
  const indent = (assign ?? escape)![1];
  const joined = assembleContinued([text.slice(indent.length), ...original.slice(1)]);
  if (assign) {
    const afterEquals = joined.slice(joined.indexOf('=') + 1).trimStart();
    const content = afterEquals.slice(1);
    const magic: LineMagic = assign[3] === '!' ? { kind: 'getoutput', cmd: content } : magicOf('%', content);
    return { line: start + 1, lineCount: original.length, indent, target: assign[2], magic, original };
  }
  const esc = escape![2];
  const content = joined.slice(esc.length);
  return { line: start + 1, lineCount: original.length, indent, magic: magicOf(esc, content), original };
}

const CLASSIC_PROMPT = /^(>>>|\.\.\.)( |$)/;
const CLASSIC_INITIAL = /^>>>( |$)/;
const IPYTHON_PROMPT = /^(((\[nav\]|\[ins\])? )?In \[\d+\]: |\s*\.{3,}: ?)/;

/**
 * IPython's cleanup transforms, applied to a cell before anything else (TransformerManager.cleanup_transforms):
 * the first non-blank line's indentation removed from every line that has it, then `>>> ` / `... ` prompts and
 * `In [1]: ` / `...: ` prompts stripped when the cell starts with one (pasted sessions run in a notebook).
 * Lines are kept (leading blank lines too), so script lines keep mapping to cell lines.
 */
export function cleanupCell(source: string): string {
  let lines = source.split(/\r?\n/);
  const first = lines.findIndex((line) => line.trim() !== '');
  if (first < 0) return source;
  const indent = /^[ \t]+/.exec(lines[first])?.[0];
  if (indent)
    lines = lines.map((line, i) =>
      i >= first && line.startsWith(indent) ? line.slice(indent.length) : line,
    );
  for (const [prompt, initial] of [
    [CLASSIC_PROMPT, CLASSIC_INITIAL],
    [IPYTHON_PROMPT, IPYTHON_PROMPT],
  ]) {
    if (initial.test(lines[first]) || (lines.length > first + 1 && prompt.test(lines[first + 1]))) {
      lines = lines.map((line, i) => (i >= first ? line.replace(prompt, '') : line));
    }
  }
  return lines.join('\n');
}
