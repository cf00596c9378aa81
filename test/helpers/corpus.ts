/**
 * The corpus of real notebooks (test/fixtures/corpus, see its README): each one is run as a converted script and
 * its stdout compared with what Debian's `jupyter nbconvert --execute` recorded for it (`expected/<file>.stdout`).
 * Used by src/convert/corpus.spec.ts (fidelity, k of n) and bench/convert.ts (ours beside nbconvert's export).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { convertNotebook } from '../../src/convert';
import { writeRuntime } from './notebooks';

export const CORPUS = join(__dirname, '../fixtures/corpus');

export interface CorpusEntry {
  /** Path under test/fixtures/corpus/notebooks/. */
  file: string;
  /** `owner/name` of the public repository, the file's path there and the commit it was taken from. */
  repository: string;
  path: string;
  commit: string;
  licence: string;
  /** The classes of issue 15 the notebook exercises (own-magics, capture, display-only, history, shell-failure). */
  classes: string[];
}

export function corpusEntries(): CorpusEntry[] {
  return JSON.parse(readFileSync(join(CORPUS, 'corpus.json'), 'utf8')) as CorpusEntry[];
}

export const expectedPath = (entry: CorpusEntry) => join(CORPUS, 'expected', `${entry.file}.stdout`);

/**
 * What a notebook printed, from an executed notebook: its code cells' stdout streams, in order. Displays and
 * `Out[n]` results are not stdout (a notebook shows them, a script's log does not hold them).
 */
export function notebookStdout(executed: {
  cells: {
    cell_type: string;
    metadata?: { tags?: string[] };
    outputs?: { output_type: string; name?: string; text?: string | string[] }[];
  }[];
}): string {
  return (
    executed.cells
      // A cell tagged skip-execution keeps the outputs of its author's run: nbclient does not run nor clear it.
      .filter((cell) => cell.cell_type === 'code' && !cell.metadata?.tags?.includes('skip-execution'))
      .flatMap((cell) => cell.outputs ?? [])
      .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
      .map((output) => (Array.isArray(output.text) ? output.text.join('') : (output.text ?? '')))
      .join('')
  );
}

/** A kernel runs `!cmd` on a pseudo-terminal: its lines end in \r\n, which a log reader does not see. */
export const sameText = (a: string, b: string) => a.replace(/\r\n/g, '\n') === b.replace(/\r\n/g, '\n');

export function run(
  command: string,
  args: string[],
  cwd: string,
  timeout: number,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
        env: { ...process.env, MPLBACKEND: 'Agg', PYTHONHASHSEED: '0' },
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? ((error as { code?: number }).code ?? null) : 0,
          stdout,
          stderr,
          ms: Date.now() - start,
        }),
    );
  });
}

/** Runs `jobs` at most `width` at a time, results in order. */
export async function pool<T, R>(items: T[], width: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await job(items[i]);
      }
    }),
  );
  return results;
}

/** A copy of the corpus notebooks in a temporary folder (the notebooks write files; neighbours stay found). */
export function corpusCopy(): { root: string; dispose(): void } {
  const root = mkdtempSync(join(tmpdir(), 'canfar-corpus-'));
  cpSync(join(CORPUS, 'notebooks'), root, { recursive: true });
  return { root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

export interface CorpusRun {
  entry: CorpusEntry;
  code: number | null;
  stdout: string;
  stderr: string;
  expected: string;
  same: boolean;
  ms: number;
}

/** Converts the notebook (default options, the runtime beside the script) and runs `python3 script`. */
export async function runConverted(root: string, entry: CorpusEntry, timeout = 60_000): Promise<CorpusRun> {
  const file = join(root, entry.file);
  const notebook = JSON.parse(readFileSync(file, 'utf8'));
  const result = convertNotebook(notebook, { notebookPath: entry.file });
  const script = file.replace(/\.ipynb$/, '.canfar.py');
  writeFileSync(script, result.script);
  writeRuntime(dirname(script));
  const ran = await run('/usr/bin/python3', [script], dirname(file), timeout);
  const expected = readFileSync(expectedPath(entry), 'utf8');
  return { entry, ...ran, expected, same: ran.code === 0 && sameText(ran.stdout, expected) };
}
