// The Python `%canfar` magic in a real JupyterLab, with a kernel that has NO node on its PATH (as on
// CANFAR images): `%canfar submit … -r 3` launches through the JupyterLab extension (the kernel's comm
// message, the server half's relay, the extension's batch code), the cell returns at once, and its output
// goes from pending to 3/3 Completed without the cell running again; after a page reload the saved output
// shows the final state.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

// The default Python kernelspec, replaced for this server: PATH without node (the server keeps its own
// PATH, so the local Skaha server still starts), and this checkout's jupyterlab_canfar importable.
const kernelspecs = mkdtempSync(join(tmpdir(), 'canfar-kernelspecs-'));
mkdirSync(join(kernelspecs, 'kernels', 'python3'), { recursive: true });
writeFileSync(
  join(kernelspecs, 'kernels', 'python3', 'kernel.json'),
  JSON.stringify({
    argv: ['/usr/bin/python3', '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
    display_name: 'Python 3 (ipykernel)',
    language: 'python',
    env: { PATH: '/nonexistent-bin', PYTHONPATH: REPO },
  }),
);
test.use({ serverEnv: { JUPYTER_PATH: kernelspecs } });

// Each replica sleeps a little, so the output is seen before the batch completes.
const REPLICA = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3 (ipykernel)' },
    language_info: { name: 'python' },
  },
  cells: [
    {
      cell_type: 'code',
      id: 'work',
      metadata: {},
      execution_count: null,
      outputs: [],
      source:
        "import os, time\nprint('replica', os.environ.get('REPLICA_ID'), 'of', os.environ.get('REPLICA_COUNT'))\ntime.sleep(3)\n",
    },
  ],
};

test('%canfar submit in a Python notebook without node launches through the extension and its output goes live', async ({
  lab,
  page,
  jupyter,
}) => {
  writeFileSync(join(jupyter.rootDir, 'other.ipynb'), JSON.stringify(REPLICA));
  await lab.open();
  await lab.newNotebook();
  const probe = await lab.runCell("import shutil\nprint('node:', shutil.which('node'))");
  await expect(probe.locator('.jp-OutputArea-output')).toHaveText('node: None');

  // All the local server's cores per replica (the fixture declares 2; /context offers production's 1..16):
  // the replicas run one after the other, so the output is seen pending before it is seen completed.
  const cores = 2;
  // Running the last cell added the cell below it.
  const cell = await lab.runCell(
    `%load_ext jupyterlab_canfar\n%canfar submit other.ipynb -r 3 -c ${cores} --name magic`,
    1,
  );
  const prompt = await cell.locator('.jp-InputPrompt').textContent();
  const output = cell.locator('.jp-CanfarBatchOutput');
  await expect(output).toBeVisible();
  const summary = output.locator('[data-canfar="summary"]');
  await expect(summary).toContainText(/Pending|Submitting/);
  await page.screenshot({ path: test.info().outputPath('magic-pending.png') });
  await expect(summary).toHaveText('3/3 Completed', { timeout: 120_000 });
  await expect(output.locator('[data-canfar="grid"] [role="option"]')).toHaveCount(3);
  await expect(output.locator('[data-canfar="live"]')).toHaveText('final state');
  // The cell ran once: its prompt is the one it had when it returned.
  await expect(cell.locator('.jp-InputPrompt')).toHaveText(prompt ?? '');
  await page.screenshot({ path: test.info().outputPath('magic-completed.png') });

  // The batch is the extension's own: its folder beside the notebook, written through the contents API.
  const [batchId] = readdirSync(join(jupyter.rootDir, 'canfar-batches'));
  const manifest = JSON.parse(
    readFileSync(join(jupyter.rootDir, 'canfar-batches', batchId, 'batch.json'), 'utf8'),
  );
  expect(manifest.replicas.map((r: { name: string }) => r.name)).toEqual(['magic-1', 'magic-2', 'magic-3']);
  expect(await output.getAttribute('data-canfar-batch')).toBe(batchId);

  // canfar.watch() (the Python API) returns the batch's final state as data, through the extension too.
  const watched = await lab.runCell(
    `from jupyterlab_canfar import canfar\nfinal = canfar.watch('${batchId}')\nprint(final['phase'], final['counts']['completed'])`,
    2,
  );
  await expect(watched.locator('.jp-OutputArea-output').last()).toHaveText('done 3');
  await expect(watched.locator('.jp-CanfarBatchOutput [data-canfar="summary"]')).toHaveText('3/3 Completed');

  // Saved, then reloaded in a fresh page: the output finds its batch and shows the final state.
  await lab.save('magic.ipynb');
  await lab.open();
  await page.evaluate(async () => {
    const app = (
      window as unknown as {
        jupyterapp: { commands: { execute(id: string, args: unknown): Promise<unknown> } };
      }
    ).jupyterapp;
    await app.commands.execute('docmanager:open', { path: 'magic.ipynb' });
  });
  const reloaded = page.locator('.jp-NotebookPanel:visible .jp-CanfarBatchOutput').first();
  await expect(reloaded).toBeVisible();
  await expect(reloaded.locator('[data-canfar="summary"]')).toHaveText('3/3 Completed', { timeout: 60_000 });
  await expect(reloaded.locator('[data-canfar="live"]')).toHaveText('final state');
  await page.screenshot({ path: test.info().outputPath('magic-reloaded.png') });
  expect(lab.errors.filter((e) => /canfar/i.test(e))).toEqual([]);
});
