// Bad input in the submit dialog is refused where it was typed: inline errors, a disabled Submit
// button, and after Cancel nothing launched and no batch folder written.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test.skip(
  !existsSync(join(REPO, 'src/lab/submit-plugin.ts')),
  'the submit command (src/lab) is not written yet',
);

test('the submit dialog refuses 0 replicas, a name with spaces and an env value with "="', async ({
  lab,
  page,
  jupyter,
}) => {
  await lab.open();
  await lab.newNotebook();
  await lab.runCell('print("hello")');
  await lab.save('hello.ipynb');

  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  const dialog = page.locator('.jp-Dialog').last();
  const form = dialog.locator('.jp-CanfarSubmit-form');
  await expect(form).toBeVisible();
  const submit = dialog.locator('.jp-Dialog-footer button', { hasText: 'Submit' });
  const error = (field: string) => form.locator(`[data-field="${field}"] .jp-CanfarSubmit-error`);

  await form.locator('[data-field="replicas"] input').fill('0');
  await expect(error('replicas')).not.toBeEmpty();
  await expect(submit).toBeDisabled();

  await form.locator('[data-field="replicas"] input').fill('2');
  await expect(error('replicas')).toBeEmpty();
  await form.locator('[data-field="name"] input').fill('my batch');
  await expect(error('name')).toContainText('my batch');
  await expect(submit).toBeDisabled();

  await form.locator('[data-field="name"] input').fill('my-batch');
  await expect(error('name')).toBeEmpty();
  await form.locator('[data-field="env"] textarea').fill('SKY=ra=10');
  await expect(error('env')).toContainText('=');
  await expect(submit).toBeDisabled();
  await page.screenshot({ path: test.info().outputPath('submit-dialog-errors.png') });

  // Leave the field first (Tab), as a keyboard user does: the dialog re-validates on `change` and
  // its width (so the buttons' position) can change then, which would swallow a mouse click that
  // blurs the field (reported: lab helper).
  await page.keyboard.press('Tab');
  await dialog.locator('.jp-Dialog-footer button', { hasText: 'Cancel' }).click();
  await expect(dialog).toBeHidden();

  // Nothing launched: the panel still has its empty state; nothing written beside the notebook.
  const panel = await lab.openCanfarPanel();
  await expect(panel.locator('[data-canfar="empty"]')).toBeVisible();
  expect(existsSync(join(jupyter.rootDir, 'canfar-batches'))).toBe(false);
});
