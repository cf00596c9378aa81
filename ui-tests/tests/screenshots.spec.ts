// Screenshots of the CANFAR panel with a finished and a running batch, and of the submit dialog, in
// the light and dark themes, kept as test artefacts (ui-tests/test-results/<test>/). The theme is
// switched from the Settings menu, as a user does, and the panel's own colours must follow it.
// With CANFAR_UPDATE_DOCS=1 the light panel is also written to docs/panel.png (the README shows it).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';

import { expect, REPO, test } from './fixtures';
import type { JupyterLabPage } from './jupyterlab';

test.skip(
  !existsSync(join(REPO, 'src/lab/submit-plugin.ts')),
  'the CANFAR panel and submit command (src/lab) are not written yet',
);

// Each replica squares its share of 12 items and sleeps CANFAR_TEST_SLEEP seconds: 0 for the batch
// that finishes, long enough for the other one to be still running when the screenshot is taken.
// (One-line def: the editor indents after a colon by itself.)
const CODE = [
  'import os, time',
  'def chunk(items, i, n): return items[(i - 1) * len(items) // n : i * len(items) // n]',
  "replica, count = int(os.environ.get('REPLICA_ID', 1)), int(os.environ.get('REPLICA_COUNT', 1))",
  'mine = chunk(list(range(12)), replica, count)',
  "print(f'replica {replica} of {count} squares {[x * x for x in mine]}')",
  "time.sleep(float(os.environ.get('CANFAR_TEST_SLEEP', 0)))",
].join('\n');

interface Fields {
  name: string;
  replicas: number;
  env?: string;
}

/** Opens the submit dialog on the active (saved) notebook and fills it; the plan follows. */
async function openDialog(lab: JupyterLabPage, page: Page, fields: Fields): Promise<Locator> {
  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  const dialog = page.locator('.jp-Dialog').last();
  const form = dialog.locator('.jp-CanfarSubmit-form');
  await expect(form).toBeVisible();
  // The dialog starts from the last submission: a new name, since replica names must be unused.
  await form.locator('[data-field="name"] input').fill(fields.name);
  await form.locator('[data-field="replicas"] input').fill(String(fields.replicas));
  await form.locator('[data-field="env"] textarea').fill(fields.env ?? '');
  await page.keyboard.press('Tab'); // the form re-validates on leaving a field
  await expect(form.locator('[data-canfar="plan"]')).toContainText(`${fields.name}-${fields.replicas}`);
  return dialog;
}

async function submit(lab: JupyterLabPage, page: Page, fields: Fields): Promise<void> {
  await openDialog(lab, page, fields);
  await lab.acceptDialog('Submit');
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);
}

/** Drags the splitter between the left side panel and the main area by `dx` pixels. */
async function widenSidePanel(page: Page, dx: number): Promise<void> {
  const handle = page.locator('#jp-main-split-panel > .lm-SplitPanel-handle').first();
  const box = (await handle.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + dx, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
}

function batchNamed(panel: Locator, name: string): Locator {
  return panel
    .locator('.jp-CanfarPanel-batch')
    .filter({ has: panel.page().locator('.jp-CanfarPanel-batchName', { hasText: new RegExp(`^${name}$`) }) });
}

for (const theme of ['JupyterLab Light', 'JupyterLab Dark']) {
  test(`panel with a finished and a running batch, and the submit dialog, in ${theme}`, async ({
    lab,
    page,
  }) => {
    const slug = theme.split(' ')[1].toLowerCase();
    await lab.open();
    await lab.setTheme(theme);
    await lab.newNotebook();
    await lab.runCell(CODE);
    await lab.save('sweep.ipynb');

    const panel = await lab.openCanfarPanel();
    await expect(panel.locator('[data-canfar="info"]')).toContainText('Endpoint: local');
    // Wider than the default side bar, as a user following batches would make it.
    const narrow = (await panel.boundingBox())!.width;
    await widenSidePanel(page, 130);
    await expect.poll(async () => (await panel.boundingBox())!.width).toBeGreaterThan(narrow + 100);
    // The panel is painted with the theme's variables: dark on dark, light on light.
    const background = await panel.evaluate((node) => getComputedStyle(node).backgroundColor);
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    const brightness = (r + g + b) / 3;
    expect(slug === 'dark' ? brightness < 128 : brightness > 128, `panel background ${background}`).toBe(
      true,
    );

    // A quick batch that finishes, then a long one that is still running when the picture is taken.
    await submit(lab, page, { name: 'sweep-quick', replicas: 3 });
    const finished = batchNamed(panel, 'sweep-quick');
    await expect(finished.locator('[data-canfar="summary"]')).toHaveText(/^3\/3 Completed$/, {
      timeout: 120_000,
    });
    // Two replicas: both run at once on the local server of a 2-core machine (one core each).
    await submit(lab, page, { name: 'sweep-full', replicas: 2, env: 'CANFAR_TEST_SLEEP=120' });
    const running = batchNamed(panel, 'sweep-full');
    await expect(running.locator('[data-canfar="summary"]')).toContainText('Running', {
      timeout: 120_000,
    });
    // Replicas of both shown: the running ones with their durations so far, the finished ones with
    // their exit codes.
    await running.locator('[data-canfar-action="toggle"]').click();
    await finished.locator('[data-canfar-action="toggle"]').click();
    await expect(finished.locator('[data-canfar="exit"]')).toHaveText(['exit 0', 'exit 0', 'exit 0']);
    // A few seconds into the run (the panel redraws on each poll), and without the launch toasts.
    await expect(running.locator('.jp-CanfarPanel-duration').first()).toHaveText(/^([5-9]|\d\d) s$/, {
      timeout: 60_000,
    });
    const hide = page.locator('.jp-toastContainer button[title="Hide notification"]');
    while ((await hide.count()) > 0) await hide.first().click();
    await expect(page.locator('.jp-toastContainer .Toastify__toast')).toHaveCount(0);
    await expect(panel.locator('[data-canfar="error"], [data-canfar="batch-problem"]')).toHaveCount(0);
    // (Console 404s are expected: the monitor asks for the events of a pending replica, to spot an image
    // that cannot be pulled, and the local server has none before the replica is scheduled.)
    expect(lab.errors.filter((error) => !error.includes('404'))).toEqual([]);
    await page.screenshot({ path: test.info().outputPath(`panel-${slug}.png`) });
    if (slug === 'light' && process.env.CANFAR_UPDATE_DOCS) {
      // The README's picture: the panel and a bit of the notebook beside it.
      const box = (await panel.boundingBox())!;
      const last = (await panel.locator('.jp-CanfarPanel-updated').boundingBox())!;
      mkdirSync(join(REPO, 'docs'), { recursive: true });
      await page.screenshot({
        path: join(REPO, 'docs/panel.png'),
        clip: {
          x: 0,
          y: 0,
          width: Math.round(box.x + box.width + 320),
          height: Math.round(Math.max(last.y + last.height + 16, 320)),
        },
      });
    }

    const dialog = await openDialog(lab, page, { name: 'sweep-next', replicas: 8, env: 'MODE=full' });
    await expect(dialog.locator('[data-canfar="plan"]')).toContainText('8 headless sessions');
    // The plan is the last thing of the form: scrolled into view, with the buttons, for the picture.
    await dialog.locator('[data-canfar="plan"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: test.info().outputPath(`submit-dialog-${slug}.png`) });
    await dialog.locator('.jp-Dialog-footer button', { hasText: 'Cancel' }).click();
    await expect(dialog).toBeHidden();
  });
}
