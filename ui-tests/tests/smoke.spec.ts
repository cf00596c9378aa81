// Smoke: JupyterLab opens with our extension loaded as a prebuilt (federated) extension, a Python
// notebook runs on the real ipykernel, and the CANFAR panel talks to the local Skaha server.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test('JupyterLab opens and a Python notebook cell runs on the kernel', async ({ lab, page }) => {
  await lab.open();
  await lab.newNotebook();
  const cell = await lab.runCell('print(6*7)');
  await expect(cell.locator('.jp-OutputArea-output')).toHaveText('42');
  // A broken shared module or extension shows up here first (e.g. a second copy of a singleton).
  // JupyterLab asks for jupyter-lsp's status also where it is not installed (Debian packages no
  // jupyter-lsp; the rig answers it): that 404 is JupyterLab's own.
  expect(lab.errors.filter((e) => !/status of 404 .*\/lsp\/status\?/.test(e))).toEqual([]);
  await page.screenshot({ path: test.info().outputPath('notebook.png') });
});

test('the CANFAR panel shows the local endpoint, platform stats and an empty state', async ({
  lab,
  page,
}) => {
  test.skip(!existsSync(join(REPO, 'src/lab/index.ts')), 'src/lab (the CANFAR panel) is not written yet');
  await lab.open();
  await expect(lab.canfarTab).toBeVisible();
  const panel = await lab.openCanfarPanel();
  // The info line comes from the server half (/canfar/api/info); stats and the (empty) session list
  // from the local Skaha server it starts on first use.
  await expect(panel.locator('[data-canfar="info"]')).toContainText('Endpoint: local');
  await expect(panel.locator('[data-canfar="stats"]')).toContainText(/Platform: .* cores/);
  await expect(panel.locator('[data-canfar="empty"]')).toBeVisible();
  await expect(panel.locator('[data-canfar="error"]')).toHaveCount(0);
  await page.screenshot({ path: test.info().outputPath('canfar-panel.png') });
});
