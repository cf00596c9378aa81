// A batch as a small pipeline, submitted from the dialog, as the CANFAR panel shows it (issue 13): the
// combine step as the batch's last step, waiting, running, then completed, its log opened from the panel;
// "Try one first": replica 1 alone while the others wait, then all of them; and a failing canary that
// stops the batch with one session launched and the failing cell named.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, test } from './fixtures';
import {
  batchNamed,
  hideToasts,
  listSessions,
  openNotebook,
  saveCanfarSettings,
  submitBatch,
  writeNotebook,
} from './batches';

const IMPORTS = { source: 'import glob, json, os, time', tags: ['imports'] };
const REPLICA = "replica = int(os.environ.get('REPLICA_ID', '1'))";

test.beforeEach(({ jupyter }) => {
  // A poll every 2 s (the setting's minimum), so that steps of a few seconds are seen as they happen.
  saveCanfarSettings(jupyter, { refreshInterval: 2 });
});

test("the combine step is the batch's last step: waiting, running, completed, and its log opens", async ({
  lab,
  page,
  jupyter,
}) => {
  // Each replica writes its share of 10 items to parts/part-<i>.json; the combine merges them once.
  writeNotebook(jupyter.rootDir, 'parts.ipynb', [
    IMPORTS,
    [
      REPLICA,
      "count = int(os.environ.get('REPLICA_COUNT', '1'))",
      'mine = list(range(10))[(replica - 1) * 10 // count : replica * 10 // count]',
      "os.makedirs('parts', exist_ok=True)",
      "json.dump(mine, open(f'parts/part-{replica}.json', 'w'))",
      'time.sleep(4)',
    ].join('\n'),
    {
      source: [
        "print('combine starts')",
        'time.sleep(4)',
        "parts = sorted(glob.glob('parts/part-*.json'))",
        'merged = sorted(x for p in parts for x in json.load(open(p)))',
        "json.dump(merged, open('final.json', 'w'))",
        "print('COMBINED', len(parts), 'parts into', len(merged), 'items')",
      ].join('\n'),
      tags: ['combine'],
    },
  ]);
  await lab.open();
  await openNotebook(lab, 'parts.ipynb');
  await submitBatch(lab, { name: 'parts', replicas: 2 });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'parts');
  await batch.locator('[data-canfar-action="toggle"]').click();
  const combine = batch.locator('[data-canfar="combine"]');
  const step = combine.locator('.jp-CanfarPanel-status');

  // While the replicas run, the combine waits for them; it is the last thing of the batch.
  await expect(batch.locator('[data-canfar="summary"]')).toContainText('Running', { timeout: 60_000 });
  await expect(step).toHaveText('Combine (last step): waiting for every replica to complete');
  await expect(batch.locator('.jp-CanfarPanel-batchBody > *').last()).toHaveAttribute(
    'data-canfar',
    'combine',
  );
  await page.screenshot({ path: test.info().outputPath('combine-waiting.png') });
  // Every replica completed: the last one to finish runs the combine, and the panel says so.
  await expect(step).toHaveText('Combine (last step): running', { timeout: 60_000 });
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('2/2 Completed');
  await expect(batch.locator('[data-canfar="note-combining"]')).toBeVisible();
  await page.screenshot({ path: test.info().outputPath('combine-running.png') });
  await expect(step).toHaveText('Combine (last step): completed (exit 0)', { timeout: 60_000 });
  await expect(batch.locator('[data-canfar="note-combining"]')).toHaveCount(0);
  expect(JSON.parse(readFileSync(join(jupyter.rootDir, 'final.json'), 'utf8'))).toEqual([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ]);
  await hideToasts(page);
  await page.screenshot({ path: test.info().outputPath('combine-completed.png') });

  // Its log, from the panel: what the combine printed.
  await combine.locator('[data-canfar-action="combine-log"]').click();
  const log = page.locator('.jp-MainAreaWidget:visible').last();
  await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')).toHaveText('combine.log');
  await expect(log).toContainText('combine starts');
  await expect(log).toContainText('COMBINED 2 parts into 10 items');
  await page.screenshot({ path: test.info().outputPath('combine-log.png') });
});

test('a failed combine runs again alone from the panel, after its script is fixed in the batch folder', async ({
  lab,
  page,
  jupyter,
}) => {
  writeNotebook(jupyter.rootDir, 'merge.ipynb', [
    IMPORTS,
    [REPLICA, "open(f'done-{replica}.txt', 'w').write('ok')"].join('\n'),
    { source: "raise ValueError('the merge is wrong')", tags: ['combine'] },
  ]);
  await lab.open();
  await openNotebook(lab, 'merge.ipynb');
  await submitBatch(lab, { name: 'merge', replicas: 2 });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'merge');
  await batch.locator('[data-canfar-action="toggle"]').click();
  const combine = batch.locator('[data-canfar="combine"]');
  const step = combine.locator('.jp-CanfarPanel-status');
  await expect(step).toHaveText('Combine (last step): failed (exit 1)', { timeout: 90_000 });
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('2/2 Completed');
  const again = combine.locator('[data-canfar-action="rerun-combine"]');
  await expect(again).toBeVisible();
  await hideToasts(page);
  await page.screenshot({ path: test.info().outputPath('combine-failed.png') });

  // The user fixes the batch folder's combine script, then runs only the combine again.
  const [id] = readdirSync(join(jupyter.rootDir, 'canfar-batches'));
  const script = join(jupyter.rootDir, 'canfar-batches', id, 'combine.py');
  writeFileSync(
    script,
    readFileSync(script, 'utf8').replace("raise ValueError('the merge is wrong')", "print('MERGED AT LAST')"),
  );
  await again.click();
  const dialog = page.locator('.jp-Dialog', { hasText: 'Re-run the combine step?' });
  await expect(dialog).toContainText('combine.py');
  await dialog.locator('.jp-Dialog-footer button', { hasText: 'Run combine' }).click();
  await expect(step).toHaveText('Combine (last step): completed (exit 0)', { timeout: 90_000 });
  await expect(again).toHaveCount(0);
  // Its session belongs to the batch: the panel shows no batch "merge-combine" of its own.
  await expect(panel.locator('.jp-CanfarPanel-batch')).toHaveCount(1);
  await hideToasts(page);
  await page.screenshot({ path: test.info().outputPath('combine-rerun.png') });
  // One session of its own ran it; the replicas ran once each.
  const names = (await listSessions(jupyter)).map((s) => s.name).sort();
  expect(names).toEqual(['merge-1', 'merge-2', 'merge-combine']);
  const log = readFileSync(join(jupyter.rootDir, 'canfar-batches', id, 'logs', 'combine.log'), 'utf8');
  expect(log).toContain('ValueError: the merge is wrong');
  expect(log).toContain('MERGED AT LAST');
});

test('"Try one first": replica 1 runs alone, then the others are launched once it completed', async ({
  lab,
  page,
  jupyter,
}) => {
  writeNotebook(jupyter.rootDir, 'careful.ipynb', [
    IMPORTS,
    `${REPLICA}\ntime.sleep(6 if replica == 1 else 2)\nprint('replica', replica, 'done')`,
  ]);
  await lab.open();
  await openNotebook(lab, 'careful.ipynb');
  await submitBatch(lab, { name: 'careful', replicas: 3, canary: true });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'careful');
  const summary = batch.locator('[data-canfar="summary"]');

  // The canary phase: replica 1 runs alone, the others wait for it (not launched: no session yet).
  await expect(batch.locator('[data-canfar="note-canary"]')).toHaveText(
    'Canary: replica 1 runs alone first; the other 2 replicas are launched once it completes.',
    { timeout: 60_000 },
  );
  await expect(summary).toHaveText('1/3 Running · 2/3 Pending', { timeout: 60_000 });
  await batch.locator('[data-canfar-action="toggle"]').click();
  const rows = batch.locator('[data-canfar="replicas"] > li');
  await expect(rows.nth(1)).toContainText('waits for the canary (replica 1)');
  await expect(rows.nth(2)).toContainText('waits for the canary (replica 1)');
  expect((await listSessions(jupyter)).map((s) => s.name)).toEqual(['careful-1']);
  await page.screenshot({ path: test.info().outputPath('canary-running.png') });

  // It completed: the panel launches the other two, and the batch runs to its end.
  await expect(batch.locator('[data-canfar="note-canary"]')).toHaveCount(0, { timeout: 60_000 });
  await expect(summary).toHaveText('3/3 Completed', { timeout: 60_000 });
  const sessions = await listSessions(jupyter);
  expect(sessions.map((s) => s.name).sort()).toEqual(['careful-1', 'careful-2', 'careful-3']);
  // Launched after replica 1 ended, not before.
  const [batchId] = readdirSync(join(jupyter.rootDir, 'canfar-batches'));
  const folder = join(jupyter.rootDir, 'canfar-batches', batchId);
  const status = (i: number) =>
    JSON.parse(readFileSync(join(folder, `status/replica-${i}.json`), 'utf8')) as {
      start: string;
      end: string;
    };
  for (const i of [2, 3])
    expect(Date.parse(status(i).start)).toBeGreaterThanOrEqual(Date.parse(status(1).end));
  await hideToasts(page);
  await page.screenshot({ path: test.info().outputPath('canary-completed.png') });
});

test('a failing canary stops the batch: one session launched in total, the failing cell named', async ({
  lab,
  page,
  jupyter,
}) => {
  writeNotebook(jupyter.rootDir, 'broken.ipynb', [
    IMPORTS,
    `${REPLICA}\nprint('replica', replica, 'reads its input')`,
    "raise FileNotFoundError('survey/tile-1.fits')",
  ]);
  await lab.open();
  await openNotebook(lab, 'broken.ipynb');
  await submitBatch(lab, { name: 'broken', replicas: 3, canary: true });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'broken');
  await expect(batch.locator('[data-canfar="note-stopped"]')).toHaveText(
    'Stopped: the canary (replica 1) failed, so the other replicas were not launched.',
    { timeout: 60_000 },
  );
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('1/3 Failed · 2/3 Not launched');
  await batch.locator('[data-canfar-action="toggle"]').click();
  await expect(batch.locator('[data-canfar="failure-title"]')).toHaveText(
    '1 replica failed in cell 3 with FileNotFoundError',
  );
  // Nothing else was launched, now or later (the panel polls on).
  expect((await listSessions(jupyter)).map((s) => s.name)).toEqual(['broken-1']);
  await page.waitForTimeout(4_000);
  expect((await listSessions(jupyter)).map((s) => s.name)).toEqual(['broken-1']);
  expect(existsSync(join(jupyter.rootDir, 'canfar-batches'))).toBe(true);
  await hideToasts(page);
  await page.screenshot({ path: test.info().outputPath('canary-stopped.png') });
});
