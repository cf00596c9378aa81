/**
 * Notebooks of other kernels: cells joined into one file with comment markers, run by the language's own
 * interpreter. No magics exist there (Julia's REPL modes excepted), so the work is the markers, progress, naming
 * the failing cell where the runtime allows, and refusing what cannot run as a file.
 */
import type { Cell, Notebook } from './notebook';
import type {
  CombineScript,
  ConversionDiagnostic,
  ConvertOptions,
  Interpreter,
  NotebookParameter,
} from './types';
import { cellLabel, commentLines, dropReason, droppedCell, isCodeCell } from './common';
import { JS_PARAM_RUNTIME, jsParameterCell, jsParametersOf } from './jsparams';

export interface ScriptTarget {
  language: string;
  extension: string;
  interpreter: Interpreter;
  comment: string;
  /** Lines before the first cell; `total` is the number of code cells. */
  prelude(progress: boolean, total: number): string[];
  /** The line that opens code cell k of total (1-based), or none. */
  begin(k: number, label: string): string;
  /** CANFAR_PARAM_<name> overrides are implemented (JavaScript and TypeScript). */
  parameters?: boolean;
  /**
   * A checker for one script (it may remember earlier cells): checks one cell's source and returns the lines
   * to write (undefined: the source itself), or commented lines.
   */
  checker?(): (
    cell: Cell,
    options: ConvertOptions,
    diagnostics: ConversionDiagnostic[],
  ) => string[] | undefined;
}

const jsString = (text: string) => JSON.stringify(text);

function jsPrelude(usesRequire: boolean) {
  return (progress: boolean, total: number): string[] => [
    ...(usesRequire
      ? [
          // The notebook kernels ran cells as CommonJS; this file is an ES module (for top-level await).
          "import { createRequire as __canfarCreateRequire } from 'node:module';",
          'const require = __canfarCreateRequire(import.meta.url);',
        ]
      : []),
    '// ---- canfar runtime: progress and the name of the failing cell ----',
    'const __canfar = (() => {',
    "  let cell = 'the script before its first cell';",
    '  const env = (name) => globalThis.Deno?.env.get(name) ?? globalThis.process?.env?.[name];',
    `  const progress = ${progress ? 'true' : 'false'} || Boolean(env('CANFAR_PROGRESS'));`,
    '  if (globalThis.Deno) {',
    '    const report = (error) => console.error(`canfar: ${cell} failed: ${error}`);',
    "    globalThis.addEventListener('error', (event) => report(event.error));",
    "    globalThis.addEventListener('unhandledrejection', (event) => report(event.reason));",
    '  } else {',
    "    globalThis.process?.on?.('exit', (code) => {",
    '      if (code !== 0) console.error(`canfar: ${cell} failed (exit status ${code})`);',
    '    });',
    '  }',
    ...JS_PARAM_RUNTIME,
    '  return {',
    '    param,',
    '    checkParams,',
    '    begin(k, label) {',
    '      cell = label;',
    `      if (progress) console.error(\`canfar: cell \${k}/${total} [\${label}]\`);`,
    '    },',
    '  };',
    '})();',
    '// ---- end of the canfar runtime ----',
  ];
}

const TOP_LEVEL_DECLARATION =
  /^(?:export\s+)?(?:let|const|class|function\*?|async\s+function\*?)\s+([A-Za-z_$][\w$]*)/;

function jsCheck(seen: Map<string, number>) {
  return (
    cell: Cell,
    _options: ConvertOptions,
    diagnostics: ConversionDiagnostic[],
  ): string[] | undefined => {
    cell.source.split(/\r?\n/).forEach((line, i) => {
      const match = TOP_LEVEL_DECLARATION.exec(line);
      if (!match) return;
      const name = match[1];
      const earlier = seen.get(name);
      if (earlier !== undefined) {
        diagnostics.push({
          severity: 'error',
          cell: cell.index,
          cellId: cell.id,
          line: i + 1,
          kind: 'duplicate-declaration',
          message: `\`${name}\` is declared again (first in cell ${earlier + 1}); cells become one module, where that is a syntax error: rename it or assign without redeclaring`,
        });
      } else seen.set(name, cell.index);
    });
    return undefined;
  };
}

function juliaCheck(
  cell: Cell,
  options: ConvertOptions,
  diagnostics: ConversionDiagnostic[],
): string[] | undefined {
  const first = cell.source.trimStart()[0];
  if (first !== ';' && first !== ']' && first !== '?') return undefined;
  const mode = first === ';' ? 'shell' : first === ']' ? 'package' : 'help';
  const comment = options.policy === 'comment' || options.unknownMagics === 'comment';
  diagnostics.push({
    severity: comment ? 'warning' : 'error',
    cell: cell.index,
    cellId: cell.id,
    line: 1,
    kind: 'repl-mode',
    message: `the cell uses the Julia REPL's ${mode} mode (\`${first}\`), which does not exist in a script${comment ? '; commented out' : ': use run(`...`), Pkg or remove it'}`,
  });
  return commentLines(cell.source, '#');
}

export function targetFor(
  language: string,
  kernelName: string | undefined,
  notebook: Notebook,
): ScriptTarget | undefined {
  const kernel = (kernelName ?? '').toLowerCase();
  const usesRequire = notebook.cells.some(
    (cell) => cell.type === 'code' && /\brequire\s*\(/.test(cell.source),
  );
  const shell = (command: string) => ({ command, args: [] as string[] });
  if (language === 'typescript' || language === 'javascript') {
    const begin = (k: number, label: string) => `__canfar.begin(${k}, ${jsString(label)});`;
    const checker = () => jsCheck(new Map<string, number>());
    if (kernel === 'deno' || kernel.startsWith('deno')) {
      return {
        language,
        extension: '.ts',
        interpreter: { command: 'deno', args: ['run', '-A'] },
        comment: '//',
        prelude: jsPrelude(false),
        begin,
        checker,
        parameters: true,
      };
    }
    if (language === 'typescript') {
      // tslab: run by node itself, which strips TypeScript types since 22.6 (no compiler in the image needed).
      return {
        language,
        extension: '.mts',
        interpreter: { command: 'node', args: ['--experimental-strip-types'] },
        comment: '//',
        prelude: jsPrelude(usesRequire),
        begin,
        checker,
        parameters: true,
      };
    }
    return {
      language,
      extension: '.mjs',
      interpreter: shell('node'),
      comment: '//',
      prelude: jsPrelude(usesRequire),
      begin,
      checker,
      parameters: true,
    };
  }
  if (language === 'r') {
    return {
      language,
      extension: '.R',
      interpreter: shell('Rscript'),
      comment: '#',
      prelude: (progress, total) => [
        '.canfar_cell <- "the script before its first cell"',
        '.canfar_begin <- function(k, label) {',
        '  .canfar_cell <<- label',
        `  if (${progress ? 'TRUE' : 'FALSE'} || nzchar(Sys.getenv("CANFAR_PROGRESS"))) message(sprintf("canfar: cell %d/%d [%s]", k, ${total}L, label))`,
        '}',
        'options(error = function() { message(sprintf("canfar: %s failed", .canfar_cell)); quit(save = "no", status = 1) })',
      ],
      begin: (k, label) => `.canfar_begin(${k}L, ${jsString(label)})`,
    };
  }
  if (language === 'julia') {
    return {
      language,
      extension: '.jl',
      interpreter: shell('julia'),
      comment: '#',
      prelude: (progress, total) => [
        'const _canfar_cell = Ref("the script before its first cell")',
        'function _canfar_begin(k, label)',
        '    _canfar_cell[] = label',
        `    (${progress} || haskey(ENV, "CANFAR_PROGRESS")) && println(stderr, "canfar: cell $k/${total} [$label]")`,
        'end',
        'atexit(code -> code == 0 || println(stderr, "canfar: $(_canfar_cell[]) failed (exit status $code)"))',
      ],
      begin: (k, label) => `_canfar_begin(${k}, ${jsString(label)})`,
      checker: () => juliaCheck,
    };
  }
  if (language === 'bash') {
    return {
      language,
      extension: '.sh',
      interpreter: shell('bash'),
      comment: '#',
      prelude: (progress, total) => [
        'set -e',
        "_canfar_cell='the script before its first cell'",
        `trap 'status=$?; [ "$status" -eq 0 ] || echo "canfar: $_canfar_cell failed (exit status $status)" >&2' EXIT`,
        `_canfar_begin() { _canfar_cell="$2"; if [ ${progress ? 1 : 0} = 1 ] || [ -n "\${CANFAR_PROGRESS:-}" ]; then echo "canfar: cell $1/${total} [$2]" >&2; fi; }`,
      ],
      begin: (k, label) => `_canfar_begin ${k} '${label}'`,
    };
  }
  return undefined;
}

/** Tags of the cells that run in the combine script too, before the `combine` cells. */
const COMBINE_CONTEXT_TAGS = ['imports', 'functions', 'parameters', 'injected-parameters'];

export function convertWithTarget(
  notebook: Notebook,
  target: ScriptTarget,
  options: ConvertOptions,
): {
  script: string;
  diagnostics: ConversionDiagnostic[];
  parameters: NotebookParameter[];
  combine?: CombineScript;
} {
  const diagnostics: ConversionDiagnostic[] = [];
  const parameters = target.parameters ? jsParametersOf(notebook) : [];
  const parameterCells = notebook.cells.filter(
    (cell) =>
      cell.type === 'code' && (cell.tags.includes('parameters') || cell.tags.includes('injected-parameters')),
  );
  const lastParameterCell = parameterCells[parameterCells.length - 1];
  const mark = target.comment;
  const kept = (cell: Cell) =>
    isCodeCell(cell) && cell.source.trim() !== '' && dropReason(cell) === undefined;
  const isCombine = (cell: Cell) => cell.tags.includes('combine');
  const combineCells = notebook.cells.filter((cell) => kept(cell) && isCombine(cell));
  const combinable = target.language === 'javascript' || target.language === 'typescript';
  if (combineCells.length > 0 && !combinable) {
    diagnostics.push({
      severity: 'error',
      cell: combineCells[0].index,
      cellId: combineCells[0].id,
      kind: 'combine-unsupported',
      message: `cells tagged combine (${combineCells.map((cell) => `cell ${cell.index + 1}`).join(', ')}) are run after the replicas for Python, JavaScript and TypeScript notebooks only, not ${target.language}: remove the tag, or combine the results in a separate step`,
    });
  }

  const build = (part: 'replicas' | 'combine') => {
    const keep = (cell: Cell) =>
      part === 'replicas'
        ? !(combinable && isCombine(cell))
        : isCombine(cell) || COMBINE_CONTEXT_TAGS.some((tag) => cell.tags.includes(tag));
    // Each script is its own module: declarations are checked, and parameters made reassignable, per script.
    const check = target.checker?.();
    const declared = new Set<string>();
    const total = notebook.cells.filter((cell) => kept(cell) && keep(cell)).length;
    const body: string[] = [];
    let k = 0;
    for (const cell of notebook.cells) {
      if (cell.source.trim() === '') continue;
      if (part === 'combine' && !(kept(cell) && keep(cell))) continue;
      const label = cellLabel(cell);
      const drop = dropReason(cell);
      if (drop !== undefined) {
        body.push(...droppedCell(cell, drop, mark, diagnostics));
        continue;
      }
      if (!isCodeCell(cell)) {
        body.push('', `${mark} %% [${cell.type}] [${label}]`, ...commentLines(cell.source, mark));
        continue;
      }
      if (!keep(cell)) {
        diagnostics.push({
          severity: 'info',
          cell: cell.index,
          cellId: cell.id,
          kind: 'combine-cell',
          message:
            'tagged combine: left out of the replicas; runs once in the combine script, after every replica has completed',
        });
        body.push(
          '',
          `${mark} %% [${label}] combine: runs once after every replica has completed (combine script)`,
        );
        continue;
      }
      k += 1;
      if (cell.tags.includes('raises-exception')) {
        diagnostics.push({
          severity: 'warning',
          cell: cell.index,
          cellId: cell.id,
          kind: 'raises-exception',
          message: `tag raises-exception is honoured for Python only: an error in this cell stops the ${target.language} script`,
        });
      }
      const source =
        target.parameters && parameterCells.includes(cell)
          ? { ...cell, source: jsParameterCell(cell, declared) }
          : cell;
      const checked = check?.(source, options, diagnostics);
      body.push(
        '',
        `${mark} %% [${label}]`,
        target.begin(k, label),
        ...(checked ?? source.source.replace(/\r?\n$/, '').split(/\r?\n/)),
      );
      if (cell === lastParameterCell && parameters.length > 0) {
        body.push(
          '',
          '// canfar: each parameter can be overridden with the environment variable CANFAR_PARAM_<name>',
          ...parameters.map((p) => `${p.name} = __canfar.param(${jsString(p.name)}, ${p.name});`),
          `__canfar.checkParams([${parameters.map((p) => jsString(p.name)).join(', ')}]);`,
        );
      }
    }
    const where = options.notebookPath ? ` from ${options.notebookPath}` : '';
    const run = [target.interpreter.command, ...target.interpreter.args].join(' ');
    const header = [
      // Deno type-checks nothing on `deno run`, but editors and `deno check` would: the notebook was never typed.
      ...(target.extension.endsWith('ts') ? ['// @ts-nocheck'] : []),
      part === 'replicas'
        ? `${mark} Converted${where} by canfar-lab convert; run with: ${run} <this file>`
        : `${mark} The combine script${where} (canfar-lab convert): the cells tagged combine, after ${COMBINE_CONTEXT_TAGS.join(', ')}; it runs once, after every replica has completed, with: ${run} <this file>`,
      `${mark} Cells are marked \`${mark} %% [cell N id=ID]\`, N counting every cell of the notebook from 1.`,
    ];
    return [...header, ...target.prelude(options.progress ?? false, total), ...body].join('\n') + '\n';
  };

  let combine: CombineScript | undefined;
  if (combinable && combineCells.length > 0) {
    const before = diagnostics.length;
    combine = { script: build('combine'), cells: combineCells.map((cell) => cell.index) };
    // What the combine script's cells say is said again, or was said, for the replicas' script.
    diagnostics.splice(before);
  }
  const script = build('replicas');
  if (!target.parameters && notebook.cells.some((cell) => cell.tags.includes('parameters'))) {
    const cell = notebook.cells.find((c) => c.tags.includes('parameters')) as Cell;
    diagnostics.push({
      severity: 'warning',
      cell: cell.index,
      cellId: cell.id,
      kind: 'parameters-not-overridable',
      message: `CANFAR_PARAM_<name> overrides are implemented for Python, JavaScript and TypeScript notebooks only: the ${target.language} script uses the values as written`,
    });
  }
  return { script, diagnostics, parameters, ...(combine ? { combine } : {}) };
}
