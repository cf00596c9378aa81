// A replica whose notebook cell raises: the panel shows the batch as failed, names the failed replica,
// and that replica's log shows the traceback and which cell it came from.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test.skip(
  !existsSync(join(REPO, 'src/lab/submit-plugin.ts')),
  'the submit command (src/lab) is not written yet',
);

const CODE = [
  'import os',
  "print('replica', os.environ.get('REPLICA_ID', '1'), 'starting')",
  "if os.environ.get('REPLICA_ID') == '2': raise ValueError('replica 2 cannot read its input')",
];

test('a failing cell fails its replica, named in the panel, with the traceback in its log', async ({
  lab,
  page,
}) => {
  await lab.open();
  await lab.newNotebook();
  await lab.runCell(CODE.join('\n'));
  await lab.save('fragile.ipynb');

  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  const form = page.locator('.jp-Dialog .jp-CanfarSubmit-form');
  await expect(form).toBeVisible();
  await form.locator('[data-field="replicas"] input').fill('2');
  await page.keyboard.press('Tab'); // the form re-validates on leaving a field
  await lab.acceptDialog('Submit');

  const panel = await lab.openCanfarPanel();
  const batch = panel.locator('.jp-CanfarPanel-batch').first();
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText(
    /1\/2 Completed.*1\/2 Failed|1\/2 Failed.*1\/2 Completed/,
    {
      timeout: 120_000,
    },
  );
  if ((await batch.locator('.jp-CanfarPanel-replica').count()) === 0) {
    await batch.locator('[data-canfar-action="toggle"]').click();
  }
  const failed = batch.locator('.jp-CanfarPanel-replica.jp-mod-failed');
  await expect(failed).toHaveCount(1);
  // The dialog's name: the notebook's and 4 characters of the batch id, as the CLI's.
  await expect(failed).toHaveAttribute('data-name', /^fragile-[a-z0-9]{4}-2$/);
  await expect(failed.locator('[data-canfar="exit"]')).not.toHaveText('exit 0');
  await page.screenshot({ path: test.info().outputPath('panel-failed.png') });

  await failed.locator('[data-canfar-action="logs"]').click();
  const log = page.locator('.jp-MainAreaWidget:visible').last();
  await expect(log).toContainText('Traceback');
  await expect(log).toContainText('ValueError: replica 2 cannot read its input');
  await expect(log).toContainText(/cell 1/);
  await page.screenshot({ path: test.info().outputPath('failed-log.png') });
});
