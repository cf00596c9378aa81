// CANFAR as it runs since July 2026, on the local server that behaves the same way (issue 17): headless
// replicas beyond the capacity wait in the platform's queue (Pending, no start time, no pod), and a
// running replica may be preempted and run again from the start. The panel shows both as they happen,
// and never asks the events of a replica that has no pod.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request } from '@playwright/test';

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
import type { JupyterServer } from './fixtures';

const REPLICA = "import os, time\nreplica = int(os.environ.get('REPLICA_ID', '1'))";

/** The one batch folder of the Jupyter root. */
function batchFolder(jupyter: JupyterServer): string {
  const root = join(jupyter.rootDir, 'canfar-batches');
  const [id] = readdirSync(root);
  return join(root, id);
}

test.describe('preempted replicas', () => {
  // Every headless session is preempted once, 2 s after it starts running, and stays requeued 6 s
  // (long enough for a poll every 2 s to see it) before it runs again from the start.
  test.use({ serverEnv: { CANFAR_LOCAL_ARGS: '--cores 2 --preempt-after 2 --preempt-requeue 6' } });

  test('the panel shows a requeued replica while it waits, then attempt 2 running to the end', async ({
    lab,
    page,
    jupyter,
  }) => {
    saveCanfarSettings(jupyter, { refreshInterval: 2 });
    writeNotebook(jupyter.rootDir, 'twice.ipynb', [
      REPLICA,
      "time.sleep(4)\nos.makedirs('out', exist_ok=True)\nopen(f'out/part-{replica}.txt', 'w').write('done')",
    ]);
    await lab.open();
    await openNotebook(lab, 'twice.ipynb');
    await submitBatch(lab, { name: 'twice', replicas: 2 });
    const panel = await lab.openCanfarPanel();
    const batch = batchNamed(panel, 'twice');
    await batch.locator('[data-canfar-action="toggle"]').click();

    // Preempted: requeued, never failed; the note says why.
    await expect(batch.locator('[data-canfar="note-requeued"]')).toContainText(
      'the platform stopped them for interactive work; they run again from the start.',
      { timeout: 60_000 },
    );
    const rows = batch.locator('[data-canfar="replicas"] > li');
    await expect(rows.filter({ hasText: /Requeued after attempt \d/ }).first()).toBeVisible();
    await expect(batch.locator('[data-canfar="summary"]')).not.toContainText('Failed');
    await page.screenshot({ path: test.info().outputPath('requeued.png') });

    // Attempt 2 runs to the end: completed, and the rows say which attempt it took.
    await expect(batch.locator('[data-canfar="summary"]')).toHaveText('2/2 Completed', { timeout: 90_000 });
    await expect(rows.filter({ hasText: 'attempt 2' })).toHaveCount(2);
    const folder = batchFolder(jupyter);
    for (const i of [1, 2]) {
      const status = JSON.parse(readFileSync(join(folder, `status/replica-${i}.json`), 'utf8')) as {
        attempt: number;
        exitCode: number;
      };
      expect(status).toMatchObject({ attempt: 2, exitCode: 0 });
      const log = readFileSync(join(folder, `logs/replica-${i}.log`), 'utf8');
      expect(log.match(/==== canfar: attempt \d of replica \d /g)).toEqual([
        `==== canfar: attempt 1 of replica ${i} `,
        `==== canfar: attempt 2 of replica ${i} `,
      ]);
      expect(readFileSync(join(jupyter.rootDir, `out/part-${i}.txt`), 'utf8')).toBe('done');
    }
    await hideToasts(page);
  });
});

test('replicas beyond the capacity wait in the queue, shown as queued, and their events are never asked', async ({
  lab,
  page,
  jupyter,
}) => {
  // The fixture's local server runs 2 cores; 4 flexible replicas (1 core each): 2 run, 2 wait.
  saveCanfarSettings(jupyter, { refreshInterval: 2 });
  writeNotebook(jupyter.rootDir, 'crowd.ipynb', [REPLICA, 'time.sleep(30)']);
  const events: string[] = [];
  page.on('request', (request: Request) => {
    if (request.url().includes('view=events')) events.push(request.url());
  });
  const notFound: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404 && response.url().includes('/canfar/api/skaha/'))
      notFound.push(response.url());
  });
  await lab.open();
  await openNotebook(lab, 'crowd.ipynb');
  await submitBatch(lab, { name: 'crowd', replicas: 4 });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'crowd');
  await batch.locator('[data-canfar-action="toggle"]').click();

  await expect(batch.locator('[data-canfar="note-queued"]')).toHaveText(
    "2 waiting in the platform's queue: CANFAR runs headless work behind interactive sessions, as capacity frees up.",
    { timeout: 60_000 },
  );
  const rows = batch.locator('[data-canfar="replicas"] > li');
  await expect(rows.filter({ hasText: 'Queued' })).toHaveCount(2);
  await expect(rows.filter({ hasText: 'Running' })).toHaveCount(2);
  // The platform's view agrees: two Pending without a start time.
  const queued = (await listSessions(jupyter)).filter((s) => s.status === 'Pending' && !s.startTime);
  expect(queued).toHaveLength(2);
  // Several polls later (one every 2 s), still queued, and no events request for them, nor any 404.
  await page.waitForTimeout(8_000);
  await expect(rows.filter({ hasText: 'Queued' })).toHaveCount(2);
  for (const session of queued) expect(events.filter((url) => url.includes(session.id))).toEqual([]);
  expect(notFound).toEqual([]);
  await page.screenshot({ path: test.info().outputPath('queued.png') });
  await hideToasts(page);
});
