// A notebook goes to the local Skaha server as a headless batch of 3 replicas (CANFAR_UI_BATCH_REPLICAS
// to change it, e.g. 2 against the installed wheel in Debian trixie), through the UI only:
// the panel follows it from pending to running to 3/3 completed, a replica's log shows that replica's
// share of the work, the batch folder holds one status file per replica, and deleting the batch empties
// the panel (also after a reload) while its folder stays.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test.skip(
  !existsSync(join(REPO, 'src/lab/submit-plugin.ts')),
  'the submit command (src/lab) is not written yet',
);
// Each replica takes its share of 12 items with chunk() (contiguous blocks, 1-based REPLICA_ID) and
// sleeps so that "running" is visible in the panel before the replicas complete. (One-line def: the
// editor indents after a colon by itself.)
const REPLICAS = Number(process.env.CANFAR_UI_BATCH_REPLICAS || 3);
// What replica 2 prints: its chunk() of range(12), squared.
const SECOND = Array.from({ length: 12 }, (_, x) => x)
  .slice(Math.floor(12 / REPLICAS), Math.floor((2 * 12) / REPLICAS))
  .map((x) => x * x);
const SECOND_LINE = `replica 2 of ${REPLICAS} squares [${SECOND.join(', ')}]`;
const NOTEBOOK_CODE = [
  'import os, time',
  'def chunk(items, i, n): return items[(i - 1) * len(items) // n : i * len(items) // n]',
  "replica, count = int(os.environ.get('REPLICA_ID', 1)), int(os.environ.get('REPLICA_COUNT', 1))",
  'mine = chunk(list(range(12)), replica, count)',
  "print(f'replica {replica} of {count} squares {[x * x for x in mine]}')",
  "time.sleep(float(os.environ.get('CANFAR_TEST_SLEEP', 0)))",
];

test(`a notebook runs as ${REPLICAS} replicas on the local server and the panel follows it`, async ({
  lab,
  page,
  jupyter,
}) => {
  await lab.open();
  await lab.newNotebook();
  const cell = await lab.runCell(NOTEBOOK_CODE.join('\n'));
  await expect(cell.locator('.jp-OutputArea-output')).toContainText('replica 1 of 1 squares [0, 1, 4');

  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  // The notebook has unsaved changes: the command offers to save first.
  await lab.acceptDialog('Save and submit');
  const form = page.locator('.jp-Dialog .jp-CanfarSubmit-form');
  await expect(form).toBeVisible();
  const submitButton = page.locator('.jp-Dialog .jp-Dialog-footer button', { hasText: 'Submit' });
  const before = await submitButton.boundingBox();
  await form.locator('[data-field="replicas"] input').fill(String(REPLICAS));
  await form.locator('[data-field="env"] textarea').fill('CANFAR_TEST_SLEEP=8');
  // Fixed resources, all the local server's cores per replica (the fixture declares 2): the replicas run
  // one after the other, so the batch is seen pending (two waiting), then running, then completed.
  await form.locator('input[name="flexible"]').uncheck();
  await form.locator('select[name="cores"]').selectOption('2');
  await page.keyboard.press('Tab'); // the form re-validates on leaving a field
  await expect(form.locator('[data-canfar="plan"]')).toContainText(`${REPLICAS} headless sessions`);
  // The dialog keeps its width whatever the plan says: the buttons stay under the pointer.
  expect(await submitButton.boundingBox()).toEqual(before);
  await page.screenshot({ path: test.info().outputPath('submit-dialog.png') });
  await lab.acceptDialog('Submit');

  const panel = await lab.openCanfarPanel();
  const batch = panel.locator('.jp-CanfarPanel-batch').first();
  const summary = batch.locator('[data-canfar="summary"]');
  await expect(summary).toContainText(/Pending/, { timeout: 60_000 });
  await expect(summary).toContainText(/Running/, { timeout: 60_000 });
  await batch.locator('[data-canfar-action="toggle"]').click();
  await page.screenshot({ path: test.info().outputPath('panel-running.png') });
  await expect(summary).toHaveText(`${REPLICAS}/${REPLICAS} Completed`, { timeout: 120_000 });

  const rows = batch.locator('.jp-CanfarPanel-replica');
  await expect(rows).toHaveCount(REPLICAS);
  for (let i = 0; i < REPLICAS; i++) {
    await expect(rows.nth(i).locator('[data-canfar="exit"]')).toHaveText('exit 0');
    await expect(rows.nth(i).locator('.jp-CanfarPanel-duration')).toHaveText(/^\d+ s$/);
  }
  await page.screenshot({ path: test.info().outputPath('panel-completed.png') });

  // Replica 2 has its share only (items 4..7 of 12 with 3 replicas).
  await rows.nth(1).locator('[data-canfar-action="logs"]').click();
  await expect(page.locator('.jp-MainAreaWidget:visible').last()).toContainText(SECOND_LINE);

  const batches = join(jupyter.rootDir, 'canfar-batches');
  const [batchId] = readdirSync(batches);
  const statusDir = join(batches, batchId, 'status');
  const statusFiles = readdirSync(statusDir).sort();
  expect(statusFiles).toEqual(Array.from({ length: REPLICAS }, (_, i) => `replica-${i + 1}.json`));
  for (const file of statusFiles) {
    expect(JSON.parse(readFileSync(join(statusDir, file), 'utf8'))).toMatchObject({ exitCode: 0 });
  }

  await batch.locator('[data-canfar-action="delete-batch"]').click();
  await lab.acceptDialog(/Delete/);
  await expect(panel.locator('.jp-CanfarPanel-batch')).toHaveCount(0, { timeout: 60_000 });
  // Only the record changed: the folder keeps its logs and status files; batch.json says when.
  expect(readdirSync(statusDir).sort()).toEqual(statusFiles);
  expect(readFileSync(join(batches, batchId, 'logs/replica-2.log'), 'utf8')).toContain(SECOND_LINE);
  const manifest = JSON.parse(readFileSync(join(batches, batchId, 'batch.json'), 'utf8'));
  expect(Number.isNaN(Date.parse(manifest.deletedAt))).toBe(false);
  // Still gone after a reload: the folder is found again and read as deleted.
  await lab.open();
  const reloaded = await lab.openCanfarPanel();
  await expect(reloaded.locator('[data-canfar="empty"]')).toBeVisible();
  await expect(reloaded.locator('.jp-CanfarPanel-batch')).toHaveCount(0);
});
