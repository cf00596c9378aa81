import { linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError, parseCommandArgs } from '../args';
import type { Command, CommandIO } from '../command';
import { json, line } from '../output';
import { convertNotebook, formatDiagnostic, pythonRuntimeFiles, type ConvertOptions } from '../../../convert';

const usage = `Usage: canfar-lab convert NOTEBOOK [OPTIONS]

Convert a notebook into the script a batch replica runs. Diagnostics (magics translated, commented or
refused) go to stderr; nothing is written when there is an error.

Options:
  -o, --output FILE          write the script to FILE (default: stdout); an existing FILE is kept unless --force
  --force                    replace an existing output file
  --policy POLICY            IPython magics and shell escapes: translate (default: plain Python where it
                             can; what only IPython runs goes to an IPython shell the script starts), ipython
                             (get_ipython() calls, like nbconvert) or comment (every magic commented out);
                             the script runs with python3 under every policy
  --unknown-magics MODE      under translate, a magic with no translation is run by IPython (ipython,
                             default: the script then needs IPython), an error (error) or commented (comment)
  --runtime MODE             Python: inline (default: the runtime's code is in the script, which runs alone)
                             or module (two lines import it from pylib/canfar_batch/_runtime.py beside the
                             script, as in a batch folder; with -o, that file is written beside FILE too)
  --progress                 the script prints "cell k/N" to stderr before each code cell (without it, set
                             CANFAR_PROGRESS=1 when running the script)
  --json                     the result as JSON on stdout: ok, language, extension, interpreter, diagnostics,
                             parameters (and the script itself when there is no --output)

Exit status: 0 converted, 1 the notebook could not be converted (or the output exists), 2 bad usage.
`;

const POLICIES = ['translate', 'ipython', 'comment'] as const;
const UNKNOWN = ['ipython', 'error', 'comment'] as const;
const RUNTIMES = ['inline', 'module'] as const;

function choice<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new UsageError(
      `${name} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`,
      'convert',
    );
  }
  return value as T;
}

/** Writes the whole file or nothing: a temporary file beside it, then link (no clobber) or rename (--force). */
function writeAtomically(path: string, content: string, replace: boolean): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temporary, content, { mode: 0o644 });
  try {
    if (replace) renameSync(temporary, path);
    else linkSync(temporary, path);
  } finally {
    if (!replace) unlinkSync(temporary);
  }
}

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  force: { type: 'boolean' },
  policy: { type: 'string' },
  'unknown-magics': { type: 'string' },
  runtime: { type: 'string' },
  progress: { type: 'boolean' },
} as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('convert', io.argv, OPTIONS);
  if (positionals.length !== 1) {
    throw new UsageError(`convert takes one NOTEBOOK, got ${positionals.length}`, 'convert');
  }
  const [path] = positionals;
  const options: ConvertOptions = {
    policy: choice('--policy', values.policy, POLICIES, 'translate'),
    unknownMagics: choice('--unknown-magics', values['unknown-magics'], UNKNOWN, 'ipython'),
    runtime: choice('--runtime', values.runtime, RUNTIMES, 'inline'),
    progress: values.progress === true,
    notebookPath: basename(path),
  };
  const output = values.output as string | undefined;

  let notebook: unknown;
  try {
    notebook = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    line(io.stderr, `canfar-lab convert: cannot read ${path} as a notebook: ${reason}`);
    return 1;
  }
  const result = convertNotebook(notebook, options);
  for (const diagnostic of result.diagnostics) line(io.stderr, `${path}: ${formatDiagnostic(diagnostic)}`);

  let written = false;
  if (result.ok && output !== undefined) {
    try {
      writeAtomically(output, result.script, values.force === true);
      written = true;
      if (options.runtime === 'module' && result.language === 'python') {
        // The runtime the script imports, beside it (replaced: it is ours, and must match the script).
        for (const file of pythonRuntimeFiles()) {
          const path = join(dirname(output), 'pylib', file.path);
          mkdirSync(dirname(path), { recursive: true });
          writeAtomically(path, file.content, true);
        }
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'EEXIST' ? 'it exists (use --force to replace it)' : (error as Error).message;
      line(io.stderr, `canfar-lab convert: not writing ${output}: ${reason}`);
      return 1;
    }
  }
  if (io.globals.json) {
    const { script, ...rest } = result;
    json(io.stdout, {
      ...rest,
      ...(output === undefined ? { script } : { output: written ? output : null }),
    });
  } else if (result.ok && output === undefined) {
    io.stdout.write(result.script);
  }
  if (!result.ok) {
    const errors = result.diagnostics.filter((d) => d.severity === 'error').length;
    line(
      io.stderr,
      `canfar-lab convert: ${path} not converted: ${errors} error${errors === 1 ? '' : 's'} above`,
    );
    return 1;
  }
  if (written) {
    const run = [result.interpreter.command, ...result.interpreter.args, output].join(' ');
    line(io.stderr, `canfar-lab convert: wrote ${output} (${result.language}); run it with: ${run}`);
  }
  return 0;
}

export const convert: Command = {
  summary: 'convert a notebook into a batch script',
  usage,
  options: OPTIONS,
  run,
};
