/**
 * Just enough of Python's tokenizer to know, line by line, whether a physical line starts a new logical line
 * (not inside a string, a bracket or a backslash continuation). Only there can IPython syntax (`!cmd`, `%magic`,
 * `obj?`) appear, and only there may an assignment be rewritten. Lines that are IPython syntax are never fed to
 * the lexer: `!echo it's` is not Python and would open a string that never closes.
 */

export interface LexState {
  /** The open string's quote (`'`, `"`, `'''` or `"""`), or null. */
  quote: string | null;
  depth: number;
  /** The previous line ended with a backslash outside a string or comment. */
  continued: boolean;
}

export const initialLexState = (): LexState => ({ quote: null, depth: 0, continued: false });

export function atLogicalLineStart(state: LexState): boolean {
  return state.quote === null && state.depth === 0 && !state.continued;
}

/** Advances the state over one physical line (without its newline). */
export function lexLine(state: LexState, line: string): LexState {
  let { quote, depth } = state;
  let i = 0;
  let continued = false;
  while (i < line.length) {
    const char = line[i];
    if (quote !== null) {
      if (char === '\\') {
        if (i === line.length - 1) continued = true;
        i += 2;
        continue;
      }
      if (line.startsWith(quote, i)) {
        i += quote.length;
        quote = null;
        continue;
      }
      i += 1;
      continue;
    }
    if (char === '#') break;
    if (char === '"' || char === "'") {
      const triple = char.repeat(3);
      quote = line.startsWith(triple, i) ? triple : char;
      i += quote.length;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') depth += 1;
    else if (char === ')' || char === ']' || char === '}') depth = Math.max(0, depth - 1);
    else if (char === '\\' && i === line.length - 1) continued = true;
    i += 1;
  }
  // A one-quote string ends with its line unless the line ends with a backslash; an unterminated one is a
  // syntax error that Python will report, so recover rather than misread the rest of the cell.
  if (quote !== null && quote.length === 1 && !continued) quote = null;
  return { quote, depth, continued };
}

/**
 * The code of a logical line (which may span physical lines) at bracket depth 0 (every depth when `nested`),
 * with string literals replaced by `""` and comments removed: enough to tell an expression statement from an
 * assignment or a compound one, or to find a name used outside strings.
 */
export function topLevelCode(text: string, nested = false): string {
  let out = '';
  let quote: string | null = null;
  let depth = 0;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quote !== null) {
      if (char === '\\') i += 1;
      else if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
        if (depth === 0 || nested) out += '""';
      }
      continue;
    }
    if (char === '#') {
      while (i < text.length && text[i] !== '\n') i += 1;
      continue;
    }
    if (char === '"' || char === "'") {
      quote = text.startsWith(char.repeat(3), i) ? char.repeat(3) : char;
      i += quote.length - 1;
      continue;
    }
    if (char === '(' || char === '[' || char === '{') {
      if (depth === 0 || nested) out += char;
      depth += 1;
      continue;
    }
    if (char === ')' || char === ']' || char === '}') {
      depth = Math.max(0, depth - 1);
      if (depth === 0 || nested) out += char;
      continue;
    }
    if (depth === 0 || nested) out += char;
  }
  return out;
}

const STATEMENT_KEYWORD =
  /^(?:def|class|if|elif|else|for|while|with|try|except|finally|import|from|return|pass|del|raise|assert|global|nonlocal|break|continue|async|yield|print|@)\b|^@/;

/**
 * The 0-based line where the cell's last statement starts when that statement is an expression whose value
 * IPython would keep in `Out[n]` (not an assignment, not compound, not ending in `;`, not a print call), else
 * undefined. Conservative: an unusual form is simply not recorded.
 */
export function lastExpressionLine(lines: string[]): number | undefined {
  let state = initialLexState();
  let last: number | undefined;
  lines.forEach((line, i) => {
    if (atLogicalLineStart(state) && line.trim() !== '' && !line.trim().startsWith('#')) last = i;
    state = lexLine(state, line);
  });
  if (last === undefined || /^\s/.test(lines[last])) return undefined;
  const code = topLevelCode(lines.slice(last).join('\n')).trim();
  if (code === '' || STATEMENT_KEYWORD.test(code)) return undefined;
  if (/;/.test(code)) return undefined;
  if (/(^|[^=!<>])=(?!=)/.test(code)) return undefined;
  if (/:/.test(code) && !/^lambda\b/.test(code)) return undefined;
  return last;
}
