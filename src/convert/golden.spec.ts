/**
 * Golden files: every fixture notebook under every policy, script and diagnostics, compared with the files in
 * test/fixtures/notebooks/golden/. A change in output fails here; after reading the diff, update them
 * deliberately with `UPDATE_GOLDEN=1 npx jest src/convert/golden.spec.ts` and commit them with the change.
 *
 * A Python script imports its runtime (pylib/canfar_batch/_runtime.py) in two lines: the runtime has one golden
 * file, `python-runtime.py`. The JS/TS runtime block at the top of a script (between the `canfar runtime`
 * markers) has a golden file of its own per notebook (`<name>.runtime.<ext>`), and the script goldens show the
 * conversion with that block replaced by one line. Script and runtime together are still compared exactly.
 * A notebook with cells tagged combine also has `<name>.<policy>.combine.<ext>`.
 *
 * The real notebooks of the corpus (test/fixtures/corpus) that exercise a class of issue 15 (own magics,
 * %%capture, display-only magics, output history, expected failures) have goldens of the default conversion
 * under golden/corpus/.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertNotebook, formatDiagnostic, PYTHON_RUNTIME, type MagicsPolicy } from '.';

const FIXTURES = join(__dirname, '../../test/fixtures/notebooks');
const GOLDEN = join(FIXTURES, 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

const notebooks = readdirSync(FIXTURES).filter((name) => name.endsWith('.ipynb'));
const policies: MagicsPolicy[] = ['translate', 'ipython', 'comment'];

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (update || !existsSync(path)) {
    if (!update) throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

const RUNTIME =
  /^(?:#|\/\/) ---- canfar runtime[^\n]*\n[\s\S]*?^(?:#|\/\/) ---- end of the canfar runtime ----\n/m;

/** The runtime block of a script ('' when it has none) and the script with that block as one line. */
function splitRuntime(script: string): { runtime: string; rest: string } {
  const match = RUNTIME.exec(script);
  if (!match) return { runtime: '', rest: script };
  const comment = match[0].startsWith('//') ? '//' : '#';
  return {
    runtime: match[0],
    rest: script.replace(RUNTIME, `${comment} (the canfar runtime: see the .runtime golden file)\n`),
  };
}

describe.each(notebooks)('%s', (name) => {
  const notebook = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
  const translated = splitRuntime(
    convertNotebook(notebook, { policy: 'translate', notebookPath: name }).script,
  );
  test.each(policies)('policy %s matches its golden files', (policy) => {
    const result = convertNotebook(notebook, { policy, notebookPath: name });
    const base = name.replace(/\.ipynb$/, '');
    const summary = [
      `ok: ${result.ok}`,
      `language: ${result.language}`,
      `extension: ${result.extension}`,
      `interpreter: ${[result.interpreter.command, ...result.interpreter.args].join(' ')}`,
      `parameters: ${JSON.stringify(result.parameters)}`,
      ...(result.needsIPython ? [`needsIPython: ${JSON.stringify(result.needsIPython)}`] : []),
      ...(result.combine ? [`combine cells: ${JSON.stringify(result.combine.cells)}`] : []),
      ...result.diagnostics.map(formatDiagnostic),
    ].join('\n');
    golden(`${base}.${policy}.diagnostics.txt`, summary + '\n');
    const extension = result.extension || '.txt';
    const { runtime, rest } = splitRuntime(result.script);
    golden(`${base}.${policy}${extension}`, rest);
    if (result.combine)
      golden(`${base}.${policy}.combine${extension}`, splitRuntime(result.combine.script).rest);
    if (policy === 'translate' || runtime !== translated.runtime) {
      if (runtime)
        golden(`${base}.${policy === 'translate' ? '' : `${policy}.`}runtime${extension}`, runtime);
    }
  });
});

test('the Python runtime module matches its golden file', () => {
  golden('python-runtime.py', PYTHON_RUNTIME);
});

const CORPUS = join(__dirname, '../../test/fixtures/corpus');
const classified = (
  JSON.parse(readFileSync(join(CORPUS, 'corpus.json'), 'utf8')) as { file: string; classes: string[] }[]
).filter((entry) => entry.classes.length > 0);

test.each(classified.map((entry) => entry.file))(
  'real notebook %s: the default conversion matches its golden files',
  (file) => {
    const notebook = JSON.parse(readFileSync(join(CORPUS, 'notebooks', file), 'utf8'));
    const result = convertNotebook(notebook, { notebookPath: file.replace(/^.*\//, '') });
    const base = `corpus/${file
      .replace(/^.*\//, '')
      .replace(/\.ipynb$/, '')
      .replace(/\s+/g, '-')}`;
    golden(
      `${base}.diagnostics.txt`,
      [
        `ok: ${result.ok}`,
        ...(result.needsIPython ? [`needsIPython: ${JSON.stringify(result.needsIPython)}`] : []),
        ...result.diagnostics.map(formatDiagnostic),
      ].join('\n') + '\n',
    );
    golden(`${base}.py`, result.script);
  },
);
