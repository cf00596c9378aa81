/**
 * Parameters of JavaScript/TypeScript notebooks: the top-level `const|let|var name = value` declarations of
 * the cells tagged `parameters` and `injected-parameters`. In the script the declarations become `let` and are
 * followed by `name = __canfar.param('name', name);`, which applies `CANFAR_PARAM_<name>` typed like the default.
 */
import type { Cell, Notebook } from './notebook';
import type { NotebookParameter, ParameterType } from './types';

const DECLARATION =
  /^(?:export\s+)?(const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*([^=]+?))?\s*=\s*([^]*?)\s*;?\s*$/;

function jsType(text: string): ParameterType {
  if (/^-?\d+$/.test(text)) return 'int';
  if (/^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text)) return 'float';
  if (text === 'true' || text === 'false') return 'bool';
  if (/^(['"`])/.test(text)) return 'str';
  if (text.startsWith('[')) return 'list';
  if (text.startsWith('{')) return 'dict';
  if (text === 'null' || text === 'undefined') return 'none';
  return 'other';
}

/** Top-level statements of a cell, joined while brackets are open (strings are not parsed: good enough here). */
function statements(source: string): { text: string; firstLine: number }[] {
  const out: { text: string; firstLine: number }[] = [];
  let current: string[] = [];
  let first = 0;
  let depth = 0;
  source.split(/\r?\n/).forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, '');
    if (current.length === 0) {
      if (/^\s/.test(line) || code.trim() === '') return;
      first = i;
    }
    current.push(code);
    for (const char of code) {
      if ('([{'.includes(char)) depth += 1;
      else if (')]}'.includes(char)) depth = Math.max(0, depth - 1);
    }
    if (depth === 0) {
      out.push({ text: current.join('\n').trim(), firstLine: first });
      current = [];
    }
  });
  if (current.length > 0) out.push({ text: current.join('\n').trim(), firstLine: first });
  return out;
}

export function jsParameterDeclarations(
  cell: Cell,
): { parameter: NotebookParameter; line: number; keyword: string }[] {
  return statements(cell.source).flatMap(({ text, firstLine }) => {
    const match = DECLARATION.exec(text);
    if (!match || match[4] === '') return [];
    const [, keyword, name, , value] = match;
    return [{ parameter: { name, type: jsType(value), default: value }, line: firstLine, keyword }];
  });
}

export function jsParametersOf(notebook: Notebook): NotebookParameter[] {
  const merged = new Map<string, NotebookParameter>();
  for (const tag of ['parameters', 'injected-parameters']) {
    for (const cell of notebook.cells) {
      if (cell.type !== 'code' || !cell.tags.includes(tag)) continue;
      for (const { parameter } of jsParameterDeclarations(cell)) merged.set(parameter.name, parameter);
    }
  }
  return [...merged.values()];
}

/**
 * The cell with its parameter declarations made reassignable (`const` -> `let`); a name that an earlier
 * parameters cell declared (papermill's injected-parameters) is assigned, not declared again.
 */
export function jsParameterCell(cell: Cell, declared: Set<string>): string {
  const lines = cell.source.replace(/\r?\n$/, '').split(/\r?\n/);
  for (const { parameter, line, keyword } of jsParameterDeclarations(cell)) {
    const pattern = new RegExp(`^((?:export\\s+)?)${keyword}\\s+`);
    if (declared.has(parameter.name)) lines[line] = lines[line].replace(pattern, '');
    else if (keyword === 'const') lines[line] = lines[line].replace(pattern, '$1let ');
    declared.add(parameter.name);
  }
  return lines.join('\n');
}

/** The runtime's `param`: CANFAR_PARAM_<name> typed like the default; a bad value exits 2 naming it. */
export const JS_PARAM_RUNTIME = [
  // canfar-b64:<base64url of UTF-8, no padding>: how a value Skaha would drop or mangle travels (param-env.ts).
  '  const decodeParam = (name, raw) => {',
  "    if (!raw.startsWith('canfar-b64:')) return raw;",
  "    const body = raw.slice(11).replace(/-/g, '+').replace(/_/g, '/');",
  '    try {',
  "      const binary = atob(body + '='.repeat((4 - (body.length % 4)) % 4));",
  "      return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));",
  '    } catch (error) {',
  '      console.error(`canfar: CANFAR_PARAM_${name}=${JSON.stringify(raw)} is not valid canfar-b64 (base64url of UTF-8): ${error}`);',
  '      if (globalThis.Deno) globalThis.Deno.exit(2);',
  '      globalThis.process.exit(2);',
  '    }',
  '  };',
  '  const param = (name, fallback) => {',
  "    const encoded = env('CANFAR_PARAM_' + name);",
  '    if (encoded === undefined) return fallback;',
  '    const raw = decodeParam(name, encoded);',
  '    const fail = (expected) => {',
  '      console.error(`canfar: CANFAR_PARAM_${name}=${JSON.stringify(raw)} is not a valid ${expected} (the notebook default is ${JSON.stringify(fallback)})`);',
  '      if (globalThis.Deno) globalThis.Deno.exit(2);',
  '      globalThis.process.exit(2);',
  '    };',
  '    let value;',
  "    if (typeof fallback === 'number') {",
  '      value = Number(raw);',
  "      if (raw.trim() === '' || Number.isNaN(value)) fail('number');",
  "    } else if (typeof fallback === 'boolean') {",
  '      const lowered = raw.trim().toLowerCase();',
  "      if (['1', 'true', 'yes', 'on'].includes(lowered)) value = true;",
  "      else if (['0', 'false', 'no', 'off'].includes(lowered)) value = false;",
  "      else fail('boolean (true/false, 1/0, yes/no, on/off)');",
  "    } else if (typeof fallback === 'string') {",
  '      value = raw;',
  '    } else {',
  '      try {',
  '        value = JSON.parse(raw);',
  '      } catch {',
  '        if (fallback !== null && fallback !== undefined) fail(`JSON ${Array.isArray(fallback) ? "array" : "object"}`);',
  '        value = raw;',
  '      }',
  "      if (Array.isArray(fallback) && !Array.isArray(value)) fail('JSON array');",
  "      if (fallback !== null && typeof fallback === 'object' && !Array.isArray(fallback) && (value === null || typeof value !== 'object' || Array.isArray(value))) fail('JSON object');",
  '    }',
  '    console.error(`canfar: parameter ${name} = ${JSON.stringify(value)} (from CANFAR_PARAM_${name})`);',
  '    return value;',
  '  };',
  '  const checkParams = (names) => {',
  '    const source = globalThis.Deno ? globalThis.Deno.env.toObject() : globalThis.process.env;',
  "    const unknown = Object.keys(source).filter((key) => key.startsWith('CANFAR_PARAM_') && !names.includes(key.slice(13)));",
  '    if (unknown.length > 0) {',
  "      console.error(`canfar: warning: ${unknown.join(', ')} set but the notebook has no such parameter (parameters: ${names.join(', ') || 'none'})`);",
  '    }',
  '  };',
];
