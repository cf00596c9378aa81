/**
 * Golden files: every fixture notebook under every policy, script and diagnostics, compared with the files in
 * test/fixtures/notebooks/golden/. A change in output fails here; after reading the diff, update them
 * deliberately with `UPDATE_GOLDEN=1 npx jest src/convert/golden.spec.ts` and commit them with the change.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertNotebook, formatDiagnostic, type MagicsPolicy } from '.';

const FIXTURES = join(__dirname, '../../test/fixtures/notebooks');
const GOLDEN = join(FIXTURES, 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

const notebooks = readdirSync(FIXTURES).filter((name) => name.endsWith('.ipynb'));
const policies: MagicsPolicy[] = ['translate', 'ipython', 'comment'];

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (update || !existsSync(path)) {
    if (!update) throw new Error(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`);
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

describe.each(notebooks)('%s', (name) => {
  const notebook = JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));
  test.each(policies)('policy %s matches its golden files', (policy) => {
    const result = convertNotebook(notebook, { policy, notebookPath: name });
    const base = name.replace(/\.ipynb$/, '');
    const summary = [
      `ok: ${result.ok}`,
      `language: ${result.language}`,
      `extension: ${result.extension}`,
      `interpreter: ${[result.interpreter.command, ...result.interpreter.args].join(' ')}`,
      `parameters: ${JSON.stringify(result.parameters)}`,
      ...result.diagnostics.map(formatDiagnostic),
    ].join('\n');
    golden(`${base}.${policy}.diagnostics.txt`, summary + '\n');
    golden(`${base}.${policy}${result.extension || '.txt'}`, result.script);
  });
});
