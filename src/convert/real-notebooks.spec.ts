/**
 * Real notebooks nobody here wrote: the examples shipped by Debian's python-nbsphinx-doc and
 * python-notebook-doc (see test/helpers/debian-notebooks.ts).
 *
 * 1. Every Python one converts under the default policy without error; the magics that only change what the
 *    notebook displays are dropped with an info (DISPLAY_ONLY lists them all).
 * 2. The offline-executable ones (EXECUTED, picked by running all of them: see NOT_EXECUTED for why the others
 *    are not) give the same stdout under `/usr/bin/python3 script.py` as Debian's
 *    `jupyter nbconvert --to notebook --execute` gives in the notebook's stream outputs. Both run in a copy of
 *    the documentation tree, so relative paths resolve as they do for the notebook.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { convertNotebook, kernelLanguage } from '.';
import { debianNotebooks } from '../../test/helpers/debian-notebooks';
import { writeRuntime } from '../../test/helpers/notebooks';

const notebooks = debianNotebooks();
const available =
  notebooks.length > 0 && spawnSync('/usr/bin/jupyter', ['nbconvert', '--version']).status === 0;

/** `path | cell | magic | why`: magics with no meaning in a batch (frontend or display only), dropped. */
const DISPLAY_ONLY = [
  'python-nbsphinx/html/code-cells.ipynb.gz | 33 | %%latex | renders LaTeX in the notebook page',
  'python-nbsphinx/html/code-cells.ipynb.gz | 41 | %config | InlineBackend figure format: inline display only',
  'python-nbsphinx/html/code-cells.ipynb.gz | 44 | %config | InlineBackend figure format: inline display only',
  'python-nbsphinx/html/code-cells.ipynb.gz | 66 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/Connecting with the Qt Console.ipynb | 6 | %connect_info | kernel connection of an interactive session',
  'python-notebook-doc/html/examples/Notebook/Connecting with the Qt Console.ipynb | 11 | %qtconsole | opens a desktop window',
  'python-notebook-doc/html/examples/Notebook/Custom Keyboard Shortcuts.ipynb.gz | 5 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/Custom Keyboard Shortcuts.ipynb.gz | 8 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/Custom Keyboard Shortcuts.ipynb.gz | 10 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/Custom Keyboard Shortcuts.ipynb.gz | 13 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/JavaScript Notebook Extensions.ipynb.gz | 39 | %%javascript | runs in the browser',
  'python-notebook-doc/html/examples/Notebook/JavaScript Notebook Extensions.ipynb.gz | 42 | %%javascript | runs in the browser',
];

/** Executed by both; converted with the default options (the magics above are dropped). */
const EXECUTED = [
  'python-nbsphinx/html/allow-errors-per-cell.ipynb', // raises-exception tags: the script continues
  'python-nbsphinx/html/custom-css.ipynb',
  'python-nbsphinx/html/gallery/cell-metadata.ipynb.gz',
  'python-nbsphinx/html/gallery/cell-tag.ipynb.gz',
  'python-nbsphinx/html/gallery/thumbnail-from-conf-py.ipynb.gz',
  'python-nbsphinx/html/hidden-cells.ipynb',
  'python-nbsphinx/html/never-execute.ipynb',
  'python-notebook-doc/html/examples/Notebook/Custom Keyboard Shortcuts.ipynb.gz',
  'python-notebook-doc/html/examples/Notebook/JavaScript Notebook Extensions.ipynb.gz',
  'python-notebook-doc/html/examples/Notebook/nbpackage/mynotebook.ipynb',
  'python-notebook-doc/html/examples/Notebook/nbpackage/nbs/other.ipynb',
  'python-notebook-doc/html/examples/Notebook/Running Code.ipynb.gz', // 38 kB of prints, sleeps, flushes
];

/** Python notebooks with code that are not executed, and why (found by running all of them). */
const NOT_EXECUTED: Record<string, string> = {
  'python-nbsphinx/html/allow-errors.ipynb.gz':
    'raises errors by design without raises-exception tags: both stop at cell 3',
  'python-nbsphinx/html/code-cells.ipynb.gz':
    'reads images/notebook_icon.png, which the package does not ship',
  'python-nbsphinx/html/configuring-kernels.ipynb': 'reads MY_DUMMY_VARIABLE, set by a kernel configuration',
  'python-nbsphinx/html/gallery/multiple-outputs.ipynb.gz': 'reads ../images/notebook_icon.png (not shipped)',
  'python-nbsphinx/html/pre-executed.ipynb.gz':
    'a cell runs for minutes by design (documented as pre-executed)',
  'python-nbsphinx/html/subdir/a-notebook-in-a-subdir.ipynb.gz':
    'reads ../images/notebook_icon.png (not shipped)',
  'python-notebook-doc/html/examples/Notebook/Connecting with the Qt Console.ipynb':
    '%connect_info prints the live kernel connection, which a script has not',
  'python-notebook-doc/html/examples/Notebook/Importing Notebooks.ipynb.gz':
    'automagic `ls nbpackage` (warned about) and an import hook that needs nbpackage on the kernel path',
};

const python = notebooks.filter((nb) => kernelLanguage(nb.document) === 'python');

(available ? test : test.skip)('every Python notebook converts; display-only magics are dropped', () => {
  expect(python.length).toBeGreaterThanOrEqual(30);
  const dropped: string[] = [];
  for (const nb of python) {
    const result = convertNotebook(nb.document, { notebookPath: nb.path });
    expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(result.ok).toBe(true);
    for (const d of result.diagnostics.filter((x) => x.kind === 'display-only')) {
      const magic = /`(%%?\w+)/.exec(d.message)?.[1] ?? d.kind;
      dropped.push(`${nb.path} | ${d.cell + 1} | ${magic}`);
    }
  }
  expect(dropped.sort()).toEqual(
    DISPLAY_ONLY.map((line) => line.split(' | ').slice(0, 3).join(' | ')).sort(),
  );
  // Every notebook with code is either executed below or has its reason.
  const withCode = python.filter((nb) =>
    convertNotebook(nb.document).diagnostics.every((d) => d.kind !== 'no-code'),
  );
  expect(withCode.map((nb) => nb.path).sort()).toEqual([...EXECUTED, ...Object.keys(NOT_EXECUTED)].sort());
});

function run(command: string, args: string[], cwd: string, timeout: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      command,
      args,
      { cwd, timeout, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

function streamStdout(executed: {
  cells: {
    cell_type: string;
    outputs?: { output_type: string; name?: string; text?: string | string[] }[];
  }[];
}) {
  return executed.cells
    .filter((cell) => cell.cell_type === 'code')
    .flatMap((cell) => cell.outputs ?? [])
    .filter((output) => output.output_type === 'stream' && output.name === 'stdout')
    .map((output) => (Array.isArray(output.text) ? output.text.join('') : (output.text ?? '')))
    .join('');
}

(available ? test : test.skip)(
  'offline-executable notebooks: python3 script.py prints what nbconvert --execute records',
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'canfar-debian-nb-'));
    try {
      // A copy of both documentation trees, gunzipped, so that notebooks find their neighbours.
      const sources: Record<string, string> = {
        'python-nbsphinx/html': '/usr/share/doc/python-nbsphinx/html',
        'python-notebook-doc/html/examples': '/usr/share/doc/python-notebook-doc/html/examples',
      };
      for (const [target, source] of Object.entries(sources))
        cpSync(source, join(root, target), { recursive: true });
      const jobs = EXECUTED.map((path) => {
        const nb = python.find((n) => n.path === path);
        if (!nb) throw new Error(`${path} is not among the installed notebooks`);
        const file = join(root, path.replace(/\.gz$/, ''));
        writeFileSync(file, nb.text);
        const result = convertNotebook(nb.document, { notebookPath: basename(file) });
        const script = file.replace(/\.ipynb$/, '.canfar.py');
        writeFileSync(script, result.script);
        writeRuntime(dirname(script));
        return { path, file, script };
      });
      const outDir = join(root, 'executed');
      mkdirSync(outDir);
      // One nbconvert process for all of them (its start-up is most of its time), scripts alongside.
      const nbconvert = run(
        '/usr/bin/jupyter',
        ['nbconvert', '--to', 'notebook', '--execute', '--output-dir', outDir, ...jobs.map((j) => j.file)],
        root,
        150_000,
      );
      const scripts = await Promise.all(
        jobs.map((j) => run('/usr/bin/python3', [j.script], dirname(j.file), 60_000)),
      );
      const converted = await nbconvert;
      expect(converted.code).toBe(0);
      const produced = readdirSync(outDir);
      const differences = jobs
        .map((job, i) => {
          const executed = JSON.parse(readFileSync(join(outDir, basename(job.file)), 'utf8'));
          return {
            path: job.path,
            status: scripts[i].code,
            expected: streamStdout(executed),
            actual: scripts[i].stdout,
          };
        })
        .filter((r) => r.status !== 0 || r.expected !== r.actual);
      expect(produced.length).toBe(jobs.length);
      expect(differences).toEqual([]);
      // The comparison is not vacuous: Running Code prints tens of kB.
      const running = jobs.findIndex((j) => j.path.includes('Running Code'));
      expect(scripts[running].stdout.length).toBeGreaterThan(10_000);
      expect(statSync(join(outDir, basename(jobs[running].file))).size).toBeGreaterThan(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
  180_000,
);
