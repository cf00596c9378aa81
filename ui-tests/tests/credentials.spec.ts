// Credentials stay on the server side: while a user opens the CANFAR panel, refreshes it and opens
// the submit dialog, no HTTP response the browser receives (headers or body) contains the token the
// server half uses to talk to the local Skaha server.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test.skip(!existsSync(join(REPO, 'src/lab/index.ts')), 'the CANFAR panel (src/lab) is not written yet');

test('no response the browser receives contains the Skaha credential', async ({ lab, page, jupyter }) => {
  const responses: { url: string; text: string }[] = [];
  const pending: Promise<void>[] = [];
  page.on('response', (response) => {
    pending.push(
      (async () => {
        const headers = JSON.stringify(await response.allHeaders());
        const body = await response.text().catch(() => ''); // redirects and aborted loads have none
        responses.push({ url: response.url(), text: `${headers}\n${body}` });
      })(),
    );
  });

  await lab.open();
  const panel = await lab.openCanfarPanel();
  await expect(panel.locator('[data-canfar="info"]')).toContainText('Credential: token');
  await expect(panel.locator('[data-canfar="empty"]')).toBeVisible();
  await panel.locator('[data-canfar-action="refresh"]').click();
  await lab.newNotebook();
  await lab.save('probe.ipynb');
  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  await expect(page.locator('.jp-Dialog [data-canfar="plan"]')).toContainText('headless');
  await page.keyboard.press('Escape');
  await Promise.all(pending);

  // The local server the server half started records where its token is.
  const record = JSON.parse(readFileSync(join(jupyter.localStateDir, 'server.json'), 'utf8')) as {
    tokenFile: string;
  };
  const token = readFileSync(record.tokenFile, 'utf8').trim();
  expect(token.length).toBeGreaterThanOrEqual(16);
  // The API responses were seen (so the check below looked at them).
  expect(responses.some((r) => r.url.includes('/canfar/api/info'))).toBe(true);
  expect(responses.some((r) => r.url.includes('/canfar/api/skaha/v1/session'))).toBe(true);
  const leaks = responses.filter((r) => r.text.includes(token)).map((r) => r.url);
  expect(leaks, 'responses containing the Skaha token').toEqual([]);
});
