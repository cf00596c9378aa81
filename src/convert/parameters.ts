/**
 * The notebook's parameters, papermill style: the assignments of the cell tagged `parameters`, overridden by
 * those of a cell tagged `injected-parameters` (what papermill inserts). Each becomes overridable at run time by
 * the environment variable `CANFAR_PARAM_<name>`, converted to the type of its default.
 */
import { readNotebook, type Notebook } from './notebook';
import { atLogicalLineStart, initialLexState, lexLine } from './pylex';
import { splitSourceLines } from './common';
import { jsParametersOf } from './jsparams';
import { kernelLanguage } from './language';
import type { NotebookParameter, ParameterType } from './types';

const ASSIGNMENT = /^([A-Za-z_]\w*)\s*(?::\s*([^=]+?))?\s*=(?!=)\s*(.*)$/s;

/** The source text before a `#` comment that is outside any string. */
function withoutComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quote !== null) {
      if (char === '\\') i += 1;
      else if (text.startsWith(quote, i)) {
        i += quote.length - 1;
        quote = null;
      }
    } else if (char === '#') return text.slice(0, i);
    else if (char === '"' || char === "'") quote = text.startsWith(char.repeat(3), i) ? char.repeat(3) : char;
  }
  return text;
}

export function parameterType(defaultText: string, annotation?: string): ParameterType {
  const text = defaultText.trim();
  if (text === 'None') return 'none';
  if (text === 'True' || text === 'False') return 'bool';
  if (/^[-+]?(?:\d[\d_]*|0[xX][\da-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+)$/.test(text)) return 'int';
  if (/^[-+]?(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?$/.test(text)) return 'float';
  if (/^[rRuUfF]{0,2}(['"])/.test(text) && !/^[bB]/.test(text)) return 'str';
  if (text.startsWith('[')) return 'list';
  if (text === '{}' || (text.startsWith('{') && text.includes(':'))) return 'dict';
  const byAnnotation: Record<string, ParameterType> = {
    int: 'int',
    float: 'float',
    str: 'str',
    bool: 'bool',
    list: 'list',
    dict: 'dict',
  };
  const base = annotation?.trim().split('[')[0];
  return (base && byAnnotation[base]) || 'other';
}

/** The top-level `name = value` assignments of a Python cell, in order (a later one replaces an earlier one). */
export function parameterAssignments(source: string): NotebookParameter[] {
  const found = new Map<string, NotebookParameter>();
  const lines = splitSourceLines(source);
  let state = initialLexState();
  let statement: string[] = [];
  const finish = () => {
    if (statement.length === 0) return;
    const text = statement.map(withoutComment).join('\n').trim();
    statement = [];
    const match = ASSIGNMENT.exec(text);
    if (!match) return;
    const [, name, annotation, value] = match;
    const defaultText = value.trim();
    if (defaultText === '') return;
    found.set(name, { name, type: parameterType(defaultText, annotation), default: defaultText });
  };
  for (const line of lines) {
    if (atLogicalLineStart(state)) {
      finish();
      // Only unindented statements: an assignment inside `if`/`def` is not a parameter.
      if (/^\s/.test(line) || line.trim() === '') {
        state = lexLine(state, line);
        continue;
      }
    }
    if (statement.length > 0 || atLogicalLineStart(state)) statement.push(line);
    state = lexLine(state, line);
  }
  finish();
  return [...found.values()];
}

export function parametersOf(notebook: Notebook): NotebookParameter[] {
  const merged = new Map<string, NotebookParameter>();
  for (const tag of ['parameters', 'injected-parameters']) {
    for (const cell of notebook.cells) {
      if (cell.type !== 'code' || !cell.tags.includes(tag)) continue;
      for (const parameter of parameterAssignments(cell.source)) merged.set(parameter.name, parameter);
    }
  }
  return [...merged.values()];
}

/** The parameters of a notebook (parsed JSON, nbformat 4 or 3): Python, JavaScript or TypeScript; none otherwise. */
export function readParameters(notebook: unknown): NotebookParameter[] {
  const language = kernelLanguage(notebook);
  if (language === 'javascript' || language === 'typescript') return jsParametersOf(readNotebook(notebook));
  return language === 'python' ? parametersOf(readNotebook(notebook)) : [];
}
