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
