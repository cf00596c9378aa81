/**
 * Notebook -> script for a headless batch container. Isomorphic: runs in the browser (JupyterLab submit
 * dialog), in Node (the CLI) and in JS kernels alike. See types.ts for the options and the result.
 */
import { readNotebook, NotebookFormatError } from './notebook';
import { kernelInfo } from './language';
import { parametersOf } from './parameters';
import { convertPython } from './python';
import { convertWithTarget, targetFor } from './other';
import type { ConversionDiagnostic, ConversionResult, ConvertOptions } from './types';

export type {
  CombineScript,
  ConversionDiagnostic,
  ConversionResult,
  ConvertOptions,
  Interpreter,
  MagicsPolicy,
  NotebookParameter,
  ParameterType,
  UnknownMagics,
} from './types';
export { pythonRuntimeFiles, PYTHON_RUNTIME, PYTHON_RUNTIME_PATH } from './pyruntime';
export { kernelLanguage, kernelInfo, type KernelInfo } from './language';
export { readParameters } from './parameters';
export { ENCODED_PARAM_PREFIX, encodeParamEnv, decodeParamEnv } from './param-env';
export { readNotebook, NotebookFormatError, type Notebook, type Cell } from './notebook';

const failed = (language: string, diagnostic: ConversionDiagnostic): ConversionResult => ({
  ok: false,
  script: '',
  language,
  extension: '',
  interpreter: { command: '', args: [] },
  diagnostics: [diagnostic],
  parameters: [],
});

/** Converts a parsed notebook (nbformat 4 or 3). Never throws for a bad notebook: `ok` is false with the reason. */
export function convertNotebook(notebook: unknown, options: ConvertOptions = {}): ConversionResult {
  const policy = options.policy ?? 'translate';
  if (!['translate', 'ipython', 'comment'].includes(policy)) {
    throw new TypeError(`unknown magics policy ${JSON.stringify(policy)}: use translate, ipython or comment`);
  }
  let parsed;
  try {
    parsed = readNotebook(notebook);
  } catch (error) {
    if (!(error instanceof NotebookFormatError)) throw error;
    return failed('', {
      severity: 'error',
      cell: 0,
      kind: 'invalid-notebook',
      message: `not a readable notebook: ${error.message}`,
    });
  }
  const kernel = kernelInfo(notebook);
  const assumed: ConversionDiagnostic[] = kernel.assumed
    ? [
        {
          severity: 'info',
          cell: 0,
          kind: 'language-assumed',
          message: 'the notebook names no kernel: Python assumed',
        },
      ]
    : [];
  if (kernel.language === 'python') {
    const parameters = parametersOf(parsed);
    const { script, diagnostics, ipython, combine } = convertPython(
      parsed,
      { ...options, policy },
      parameters,
    );
    const all = [...assumed, ...diagnostics];
    return {
      ok: !all.some((d) => d.severity === 'error'),
      script,
      language: 'python',
      extension: '.py',
      // Under every policy: the runtime starts an IPython shell itself when the notebook needs one.
      interpreter: { command: 'python3', args: ['-u'] },
      diagnostics: all,
      parameters,
      ...(ipython.length > 0
        ? {
            needsIPython: {
              cells: ipython.map((c) => c.cell),
              message: `this notebook needs IPython in the image: ${ipython.length === 1 ? 'cell' : 'cells'} ${ipython.map((c) => c.cell + 1).join(', ')} (${[...new Set(ipython.flatMap((c) => c.what))].join(', ')})`,
            },
          }
        : {}),
      ...(combine ? { combine } : {}),
    };
  }
  const target = targetFor(kernel.language, kernel.kernelName, parsed);
  if (!target) {
    return failed(kernel.language, {
      severity: 'error',
      cell: 0,
      kind: 'unsupported-language',
      message: `no batch runner for the ${kernel.language} kernel${kernel.kernelName ? ` (${kernel.kernelName})` : ''}: supported are Python, TypeScript and JavaScript (tslab, Deno, ijavascript), R, Julia and Bash`,
    });
  }
  const { script, diagnostics, parameters, combine } = convertWithTarget(parsed, target, {
    ...options,
    policy,
  });
  if (target.extension === '.mts') {
    diagnostics.unshift({
      severity: 'info',
      cell: 0,
      kind: 'typescript-runner',
      message:
        'the TypeScript script runs with node --experimental-strip-types, which needs Node.js 22.6 or later in the image (with an older node, run.sh uses deno run -A if deno is on PATH, else the replica stops with exit code 127 saying so): type annotations are removed, not checked; enums, namespaces and parameter properties need Deno instead',
    });
  }
  return {
    ok: !diagnostics.some((d) => d.severity === 'error'),
    script,
    language: target.language,
    extension: target.extension,
    interpreter: target.interpreter,
    diagnostics,
    parameters,
    ...(combine ? { combine } : {}),
  };
}

/** `cell 4 (id abc), line 2: error: message` — cells counted from 1, as people count them. */
export function formatDiagnostic(diagnostic: ConversionDiagnostic): string {
  const id = diagnostic.cellId ? ` (id ${diagnostic.cellId})` : '';
  const line = diagnostic.line !== undefined ? `, line ${diagnostic.line}` : '';
  return `cell ${diagnostic.cell + 1}${id}${line}: ${diagnostic.severity} [${diagnostic.kind}]: ${diagnostic.message}`;
}
