// Screenshots of the CANFAR panel and the submit dialog in the light and dark themes, kept as test
// artefacts (ui-tests/test-results/<test>/). The theme is switched from the Settings menu, as a user
// does, and the panel's own colours must follow it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { expect, REPO, test } from './fixtures';

test.skip(
  !existsSync(join(REPO, 'src/lab/submit-plugin.ts')),
  'the CANFAR panel and submit command (src/lab) are not written yet',
);

for (const theme of ['JupyterLab Light', 'JupyterLab Dark']) {
  test(`panel and submit dialog in ${theme}`, async ({ lab, page }) => {
    const slug = theme.split(' ')[1].toLowerCase();
    await lab.open();
    await lab.setTheme(theme);
    await lab.newNotebook();
    await lab.runCell('print("hello")');
    await lab.save('hello.ipynb');

    const panel = await lab.openCanfarPanel();
    await expect(panel.locator('[data-canfar="info"]')).toContainText('Endpoint: local');
    // The panel is painted with the theme's variables: dark on dark, light on light.
    const background = await panel.evaluate((node) => getComputedStyle(node).backgroundColor);
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    const brightness = (r + g + b) / 3;
    expect(slug === 'dark' ? brightness < 128 : brightness > 128, `panel background ${background}`).toBe(
      true,
    );
    await page.screenshot({ path: test.info().outputPath(`panel-${slug}.png`) });

    await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
    const dialog = page.locator('.jp-Dialog').last();
    await expect(dialog.locator('.jp-CanfarSubmit-form')).toBeVisible();
    await expect(dialog.locator('[data-canfar="plan"]')).toContainText('headless');
    await page.screenshot({ path: test.info().outputPath(`submit-dialog-${slug}.png`) });
    await dialog.locator('.jp-Dialog-footer button', { hasText: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  });
}
