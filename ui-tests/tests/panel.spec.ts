// The CANFAR panel at the scale batches run, in a real JupyterLab with the local server: keyboard focus
// that survives polls, a 512-replica batch as a grid and a stacked bar with the right counts, one
// notification for a failing replica, the end of a batch notified with the panel closed, and an axe-core
// scan of the panel, the submit dialog and the log viewer.
import { expect, test } from './fixtures';
import {
  axeViolations,
  batchNamed,
  hideToasts,
  openNotebook,
  openSubmitDialog,
  submitBatch,
  writeNotebook,
} from './batches';

const REPLICA = "import os, time\nreplica = int(os.environ.get('REPLICA_ID', '1'))";

test('keyboard focus on a replica button survives a poll, and the grid works from the keyboard', async ({
  lab,
  page,
  jupyter,
}) => {
  // Replica 1 ends after a few seconds (a poll that changes the batch), replica 2 runs on.
  writeNotebook(jupyter.rootDir, 'steady.ipynb', [REPLICA, 'time.sleep(6 if replica == 1 else 120)']);
  await lab.open();
  await openNotebook(lab, 'steady.ipynb');
  await submitBatch(lab, { name: 'steady', replicas: 2 });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'steady');
  const summary = batch.locator('[data-canfar="summary"]');
  await expect(summary).toHaveText('2/2 Running', { timeout: 60_000 });
  await batch.locator('[data-canfar-action="toggle"]').click();

  // Tab through the panel, as a keyboard user does, to replica 2's Logs button.
  await batch.locator('[data-canfar-action="toggle"]').focus();
  const target = '.jp-CanfarPanel-replica[data-name="steady-2"] [data-canfar-action="logs"]';
  for (let i = 0; i < 60; i++) {
    if (await page.evaluate((selector) => document.activeElement?.matches(selector) ?? false, target)) break;
    await page.keyboard.press('Tab');
  }
  const logs = batch.locator(target);
  await expect(logs).toBeFocused();
  // Focus is visible.
  expect(await logs.evaluate((node) => getComputedStyle(node).outlineStyle)).not.toBe('none');
  await logs.evaluate((node) => ((window as unknown as { focusedButton: Element }).focusedButton = node));

  // Polls go on; the one that sees replica 1 completed changes the batch, and the focused button stays.
  await expect(summary).toHaveText('1/2 Running · 1/2 Completed', { timeout: 60_000 });
  expect(
    await page.evaluate(() => {
      const node = (window as unknown as { focusedButton: Element }).focusedButton;
      return node.isConnected && document.activeElement === node;
    }),
  ).toBe(true);
  await page.keyboard.press('Enter');
  await expect(page.locator('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current')).toHaveText(
    'Log: steady-2',
  );

  // The grid: one tab stop; arrows move, Enter opens the replica.
  await lab.openCanfarPanel();
  const grid = batch.locator('[data-canfar="grid"]');
  await grid.focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter');
  await expect(batch.locator('[data-canfar="opened"] .jp-CanfarPanel-replica')).toHaveAttribute(
    'data-name',
    'steady-2',
  );
  await expect(grid).toBeFocused();
  await page.screenshot({ path: test.info().outputPath('focus.png') });
});

test.describe('a batch of 512', () => {
  // Every replica runs at once, as on CANFAR: a local server with room for all of them.
  test.use({ localCapacity: { cores: 600, ram: 2600 } });

  test('a 512-replica batch shows the grid, the stacked bar and the right counts', async ({
    lab,
    page,
    jupyter,
  }) => {
    test.setTimeout(900_000);
    writeNotebook(jupyter.rootDir, 'many.ipynb', [REPLICA, "print('replica', replica, 'done')"]);
    await lab.open();
    await openNotebook(lab, 'many.ipynb');
    await submitBatch(lab, { name: 'many', replicas: 512 });
    const panel = await lab.openCanfarPanel();
    const batch = batchNamed(panel, 'many');
    await expect(batch).toBeVisible({ timeout: 120_000 });
    await batch.locator('[data-canfar-action="toggle"]').click();
    const cells = batch.locator('[data-canfar="grid"] [role="option"]');
    await expect(cells).toHaveCount(512);

    // While it runs, whenever looked at: the bar, the grid and the k/N text say the same.
    const counts = async () =>
      page.evaluate(() => {
        const item = [...document.querySelectorAll<HTMLElement>('.jp-CanfarPanel-batch')].find(
          (node) => node.querySelector('.jp-CanfarPanel-batchName')?.textContent === 'many',
        )!;
        const bar: Record<string, number> = {};
        for (const segment of item.querySelectorAll<HTMLElement>('.jp-CanfarProgress-segment'))
          bar[segment.dataset.kind!] = Number(segment.dataset.count);
        const grid: Record<string, number> = {};
        for (const cell of item.querySelectorAll<HTMLElement>('[data-canfar="grid"] [role="option"]')) {
          const kind = [...cell.classList]
            .find((c) => c.startsWith('jp-mod-') && c !== 'jp-mod-active')!
            .slice(7);
          if (kind !== 'selected') grid[kind] = (grid[kind] ?? 0) + 1;
        }
        return { bar, grid, summary: item.querySelector('[data-canfar="summary"]')!.textContent! };
      });
    const first = await counts();
    expect(first.grid).toEqual(first.bar);
    expect(Object.values(first.bar).reduce((a, b) => a + b, 0)).toBe(512);
    expect(first.summary).toMatch(/\/512 /);

    await expect(batch.locator('[data-canfar="summary"]')).toHaveText('512/512 Completed', {
      timeout: 600_000,
    });
    const last = await counts();
    expect(last).toEqual({ bar: { completed: 512 }, grid: { completed: 512 }, summary: '512/512 Completed' });
    await expect(batch.locator('.jp-CanfarProgress-bar')).toHaveAttribute(
      'aria-label',
      '512 replicas: 512 completed',
    );
    // The list is paged: one page of rows in the DOM, not 512.
    await expect(batch.locator('[data-canfar="replicas"] > li')).toHaveCount(50);
    await expect(batch.locator('[data-canfar="page"]')).toHaveText('1–50 of 512');
    await hideToasts(page);
    await page.screenshot({ path: test.info().outputPath('batch-512.png') });
  });
});

test('a failing replica raises exactly one notification, with its log', async ({ lab, page, jupyter }) => {
  // Replica 2 fails at once; replica 1 runs on for a few polls, then the batch ends.
  writeNotebook(jupyter.rootDir, 'fragile.ipynb', [
    REPLICA,
    "if replica == 2: raise ValueError('replica 2 cannot read its input')\ntime.sleep(35)",
  ]);
  await lab.open();
  await openNotebook(lab, 'fragile.ipynb');
  await submitBatch(lab, { name: 'fragile', replicas: 2 });
  const failure = 'Batch fragile: replica fragile-2 failed in cell 2 with ValueError';
  await expect(page.locator('.jp-toastContainer .Toastify__toast', { hasText: failure })).toBeVisible({
    timeout: 90_000,
  });
  // The batch ends after several more polls: its end is notified, its failure not again.
  await expect(
    page.locator('.jp-toastContainer .Toastify__toast', { hasText: 'Batch fragile finished' }),
  ).toBeVisible({ timeout: 120_000 });
  await page.locator('.jp-Notification-Status').click();
  const center = page.locator('.jp-Notification-Center');
  await expect(center).toBeVisible();
  await expect(
    center.locator('.jp-Notification-List-Item', {
      hasText: 'Batch fragile finished: 1 completed, 1 failed',
    }),
  ).toHaveCount(1);
  const failures = center.locator('.jp-Notification-List-Item', { hasText: /replica fragile-\d failed/ });
  await expect(failures).toHaveCount(1);
  await expect(failures).toHaveText(new RegExp(failure));
  await page.screenshot({ path: test.info().outputPath('notifications.png') });
  // Its action opens the failed replica's log.
  await failures.getByRole('button', { name: 'Open log' }).click();
  await expect(page.locator('.jp-MainAreaWidget:visible').last()).toContainText(
    'ValueError: replica 2 cannot read its input',
    { timeout: 30_000 },
  );
});

test('the end of a batch is notified with the panel closed, and "Open batch" shows it', async ({
  lab,
  page,
  jupyter,
}) => {
  writeNotebook(jupyter.rootDir, 'nap.ipynb', [REPLICA, 'time.sleep(5)']);
  await lab.open();
  await openNotebook(lab, 'nap.ipynb');
  await submitBatch(lab, { name: 'nap', replicas: 2 });
  // The CANFAR panel was never opened: the file browser is the left panel.
  await expect(page.locator('#jp-canfar-panel')).toBeHidden();
  const toast = page.locator('.jp-toastContainer .Toastify__toast', {
    hasText: 'Batch nap finished: 2 completed, 0 failed',
  });
  await expect(toast).toBeVisible({ timeout: 120_000 });
  await expect(page.locator('#jp-canfar-panel')).toBeHidden();
  await page.screenshot({ path: test.info().outputPath('finished-toast.png') });
  await toast.getByRole('button', { name: 'Open batch' }).click();
  const panel = page.locator('#jp-canfar-panel');
  await expect(panel).toBeVisible();
  const batch = batchNamed(panel, 'nap');
  await expect(batch.locator('[data-canfar-action="toggle"]')).toHaveAttribute('aria-expanded', 'true');
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('2/2 Completed');
});

test('axe finds no serious or critical violation in the panel, the submit dialog and the log viewer', async ({
  lab,
  page,
  jupyter,
}) => {
  writeNotebook(jupyter.rootDir, 'fragile.ipynb', [
    REPLICA,
    "if replica == 2: raise ValueError('replica 2 cannot read its input')",
  ]);
  await lab.open();
  await openNotebook(lab, 'fragile.ipynb');
  await submitBatch(lab, { name: 'fragile', replicas: 3 });
  const panel = await lab.openCanfarPanel();
  const batch = batchNamed(panel, 'fragile');
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('1/3 Failed · 2/3 Completed', {
    timeout: 120_000,
  });
  await hideToasts(page);
  // The finished batch with its failed replica open: from the grid, and in its failure group.
  await batch.locator('[data-canfar-action="toggle"]').click();
  await batch.locator('[data-canfar="grid"] [role="option"]').nth(1).click();
  await expect(batch.locator('[data-canfar="opened"] .jp-CanfarPanel-replica')).toHaveAttribute(
    'data-name',
    'fragile-2',
  );
  await batch.locator('.jp-CanfarFailures-group button').first().click();
  await batch.locator('[data-canfar-action="timeline"]').click();
  await expect(batch.locator('.jp-CanfarFailures-replicas li')).toHaveCount(1);

  for (const theme of ['JupyterLab Light', 'JupyterLab Dark']) {
    await lab.setTheme(theme);
    await lab.openCanfarPanel();
    expect(await axeViolations(page.locator('#jp-canfar-panel')), `the panel in ${theme}`).toEqual([]);
    await page.screenshot({ path: test.info().outputPath(`axe-panel-${theme.split(' ')[1]}.png`) });

    const dialog = await openSubmitDialog(lab, { name: 'fragile-again', replicas: 2 });
    expect(await axeViolations(dialog), `the submit dialog in ${theme}`).toEqual([]);
    await dialog.locator('.jp-Dialog-footer button', { hasText: 'Cancel' }).click();
    await expect(dialog).toBeHidden();

    await lab.openCanfarPanel();
    await batch.locator('.jp-CanfarFailures-replicas [data-canfar-action="logs"]').click();
    const viewer = page.locator('.jp-MainAreaWidget:visible').last();
    await expect(viewer).toContainText('ValueError', { timeout: 30_000 });
    expect(await axeViolations(viewer), `the log viewer in ${theme}`).toEqual([]);
  }
});
