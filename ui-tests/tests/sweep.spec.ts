// Parameters and sweeps from the submit dialog, in a real JupyterLab with the local Skaha server (issue
// 12): a parameter whose default holds "=", quotes, a new line and non-ASCII submits unchanged (nothing is
// sent, the replica prints the notebook's value) and overridden; a 3 x 2 sweep with 2 replicas per set is
// counted as you type, listed in the plan, and runs every set with its typed values.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

test.setTimeout(240_000);

function notebook(cells: { source: string; tags?: string[] }[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3 (ipykernel)' },
      language_info: { name: 'python' },
    },
    cells: cells.map((cell, i) => ({
      cell_type: 'code',
      id: `c${i}`,
      metadata: cell.tags ? { tags: cell.tags } : {},
      source: cell.source,
      outputs: [],
      execution_count: null,
    })),
  });
}

/** Opens a notebook of the server's root folder as a user would (File > Open... does the same). */
async function openNotebook(page: Page, path: string): Promise<void> {
  await page.evaluate(async (file) => {
    const app = (
      window as unknown as {
        jupyterapp: { commands: { execute(id: string, args: unknown): Promise<unknown> } };
      }
    ).jupyterapp;
    await app.commands.execute('docmanager:open', { path: file });
  }, path);
  await expect(page.locator('.jp-NotebookPanel:visible')).toBeVisible();
  // Until its kernel is up the notebook (and the command palette listing our command) keeps changing.
  await expect(
    page.locator('#jp-main-statusbar .jp-StatusBar-TextItem', { hasText: '|' }).first(),
  ).toContainText('Idle', { timeout: 60_000 });
}

/** The submit command; JupyterLab may have marked the opened notebook changed (kernel metadata): save then. */
async function openSubmitDialog(page: Page, lab: { runCommandFromPalette(label: string): Promise<void> }) {
  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  const form = page.locator('.jp-Dialog .jp-CanfarSubmit-form');
  const unsaved = page.locator('.jp-Dialog', { hasText: 'Unsaved changes' });
  await expect(form.or(unsaved)).toBeVisible();
  if (await unsaved.isVisible()) await unsaved.locator('button', { hasText: 'Save and submit' }).click();
  await expect(form).toBeVisible();
  return form;
}

/** The batch folders under `dir/canfar-batches`, oldest first. */
const batches = (dir: string) =>
  existsSync(join(dir, 'canfar-batches')) ? readdirSync(join(dir, 'canfar-batches')).sort() : [];

/** Waits until every status file of the batch says finished, and returns them. */
async function finished(folder: string, replicas: number): Promise<Record<string, unknown>[]> {
  let statuses: Record<string, unknown>[] = [];
  await expect
    .poll(
      () => {
        statuses = Array.from({ length: replicas }, (_, i) => join(folder, 'status', `replica-${i + 1}.json`))
          .filter(existsSync)
          .map((path) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>);
        return statuses.filter((s) => s.state === 'finished').length;
      },
      { timeout: 180_000 },
    )
    .toBe(replicas);
  return statuses;
}

const hex = (text: string) => Buffer.from(text, 'utf8').toString('hex');

test('a parameter holding "=", quotes, a new line and non-ASCII submits unchanged and overridden', async ({
  lab,
  page,
  jupyter,
}) => {
  const value = 'SELECT * FROM t WHERE x=1 AND name = "O\'Brien"\nüñï ✓';
  writeFileSync(
    join(jupyter.rootDir, 'query.ipynb'),
    notebook([
      { source: `QUERY = ${JSON.stringify(value)}\n`, tags: ['parameters'] },
      { source: "print('VALUE', QUERY.encode('utf-8').hex())\n" },
    ]),
  );
  await lab.open();
  await openNotebook(page, 'query.ipynb');

  // Unchanged: the dialog accepts it at once (nothing is sent for the untouched field).
  const form = await openSubmitDialog(page, lab);
  await expect(form.locator('input[name="param:QUERY"]')).toHaveValue(JSON.stringify(value));
  await expect(form.locator('[data-canfar="plan"]')).toContainText('1 headless session');
  await expect(form.locator('.jp-CanfarSubmit-error:not(:empty)')).toHaveCount(0);
  await lab.acceptDialog('Submit');
  await expect.poll(() => batches(jupyter.rootDir).length, { timeout: 30_000 }).toBe(1);
  const first = join(jupyter.rootDir, 'canfar-batches', batches(jupyter.rootDir)[0]);
  await finished(first, 1);
  expect(readFileSync(join(first, 'logs/replica-1.log'), 'utf8')).toContain(`VALUE ${hex(value)}`);
  const manifest = JSON.parse(readFileSync(join(first, 'batch.json'), 'utf8'));
  expect(manifest.env.names.filter((n: string) => n.startsWith('CANFAR_PARAM_'))).toEqual([]);
  expect(manifest.name).toMatch(/^query-[a-z0-9]{4}$/);

  // Overridden: typed as a quoted literal (a one-line field takes its new line as \n). The name the dialog
  // proposes is a fresh one (the first batch's session is still listed with its own): nothing to change.
  const other = 'a=b "c"\nñ';
  await openSubmitDialog(page, lab);
  const proposed = await form.locator('input[name="name"]').inputValue();
  expect(proposed).toMatch(/^query-[a-z0-9]{4}$/);
  expect(proposed).not.toBe(manifest.name);
  const field = form.locator('input[name="param:QUERY"]');
  await field.fill(JSON.stringify(other));
  await page.keyboard.press('Tab');
  await expect(form.locator('[data-canfar="plan"]')).toContainText('1 headless session');
  await lab.acceptDialog('Submit');
  await expect.poll(() => batches(jupyter.rootDir).length, { timeout: 30_000 }).toBe(2);
  const second = join(jupyter.rootDir, 'canfar-batches', batches(jupyter.rootDir)[1]);
  await finished(second, 1);
  const sent = JSON.parse(readFileSync(join(second, 'batch.json'), 'utf8'));
  // The name and the batch id end with the same 4 characters, as the CLI's default name.
  expect(sent.name).toBe(proposed);
  expect(sent.batchId.slice(-4)).toBe(proposed.slice(-4));
  expect(sent.parameters.overrides).toEqual({ QUERY: other });
  expect(sent.env.values.CANFAR_PARAM_QUERY).toMatch(/^canfar-b64:[A-Za-z0-9_-]+$/);
  // The replica's runtime decodes the value: it prints it exactly.
  expect(readFileSync(join(second, 'logs/replica-1.log'), 'utf8')).toContain(`VALUE ${hex(other)}`);
});

test('a 3 x 2 sweep with 2 replicas per set from the dialog: counted as typed, listed, run with typed values', async ({
  lab,
  page,
  jupyter,
}) => {
  writeFileSync(
    join(jupyter.rootDir, 'grid.ipynb'),
    notebook([
      { source: 'threshold = 0.5\nmethod = "gaussian"\n', tags: ['parameters'] },
      {
        source: [
          'import json, os',
          'out = {"threshold": threshold, "type": type(threshold).__name__, "method": method, "shard": int(os.environ["REPLICA_ID"])}',
          'os.makedirs("results", exist_ok=True)',
          'open("results/set-%s-shard-%s.json" % (os.environ["CANFAR_SET_ID"], out["shard"]), "w").write(json.dumps(out))',
        ].join('\n'),
      },
    ]),
  );
  await lab.open();
  await openNotebook(page, 'grid.ipynb');
  const form = await openSubmitDialog(page, lab);
  await form.locator('input[name="sweep:threshold"]').check();
  await form.locator('input[name="param:threshold"]').fill('0.1, 0.5, 0.9');
  await form.locator('input[name="sweep:method"]').check();
  await form.locator('input[name="param:method"]').fill('gaussian, box');
  await form.locator('[data-field="replicas"] input').fill('2');
  await page.keyboard.press('Tab');
  await expect(form.locator('[data-canfar="sweep-count"]')).toHaveText(
    '6 parameter set(s) x 2 replica(s) per set = 12 session(s)',
  );
  await expect(form.locator('[data-field="replicas"] label')).toHaveText('Replicas per set (1 to 512)');
  const sets = form.locator('[data-canfar="plan"] [data-canfar="sets"] tbody tr');
  await expect(sets).toHaveCount(6);
  await expect(sets.nth(1)).toContainText('0.1');
  await expect(sets.nth(1)).toContainText('box');
  await page.screenshot({ path: test.info().outputPath('sweep-dialog.png') });

  // A bad value is named under its own field, and Submit waits for it to be fixed.
  await form.locator('input[name="param:threshold"]').fill('0.1, high, 0.9');
  await page.keyboard.press('Tab');
  await expect(form.locator('[data-field="param:threshold"] .jp-CanfarSubmit-error')).toHaveText(
    '"high" must be a number (the default in the notebook is a float).',
  );
  await expect(page.locator('.jp-Dialog-footer button', { hasText: 'Submit' })).toBeDisabled();
  await form.locator('input[name="param:threshold"]').fill('0.1, 0.5, 0.9');
  await page.keyboard.press('Tab');
  await lab.acceptDialog('Submit');

  await expect.poll(() => batches(jupyter.rootDir).length, { timeout: 30_000 }).toBe(1);
  const folder = join(jupyter.rootDir, 'canfar-batches', batches(jupyter.rootDir)[0]);
  await finished(folder, 12);
  const expected = [
    [0.1, 'gaussian'],
    [0.1, 'box'],
    [0.5, 'gaussian'],
    [0.5, 'box'],
    [0.9, 'gaussian'],
    [0.9, 'box'],
  ];
  for (const [index, [threshold, method]] of expected.entries())
    for (const shard of [1, 2])
      expect(
        JSON.parse(
          readFileSync(join(jupyter.rootDir, `results/set-${index + 1}-shard-${shard}.json`), 'utf8'),
        ),
      ).toEqual({
        threshold,
        type: 'float',
        method,
        shard,
      });

  // The panel lists the replicas with the swept parameters as columns, and filters by them.
  const panel = await lab.openCanfarPanel();
  const batch = panel
    .locator('.jp-CanfarPanel-batch')
    .filter({ has: page.locator('.jp-CanfarPanel-batchName', { hasText: /^grid-/ }) });
  await expect(batch.locator('[data-canfar="summary"]')).toHaveText('12/12 Completed', { timeout: 60_000 });
  await batch.locator('[data-canfar-action="toggle"]').click();
  await expect(batch.locator('.jp-CanfarPanel-paramName')).toHaveText(['threshold', 'method']);
  const rows = batch.locator('[data-canfar="replicas"] > li');
  await expect(rows).toHaveCount(12);
  // Set 2 is (0.1, box), its shards are replicas 3 and 4.
  const third = batch.locator('.jp-CanfarPanel-replica[data-replica="3"]');
  await expect(third.locator('[data-param="threshold"]')).toContainText('0.1');
  await expect(third.locator('[data-param="method"]')).toContainText('box');
  await batch.locator('select[data-canfar-param-filter="method"]').selectOption('box');
  await expect(rows).toHaveCount(6);
  for (const cell of await rows.locator('[data-param="method"]').all())
    await expect(cell).toContainText('box');
  await page.screenshot({ path: test.info().outputPath('sweep-panel.png') });
});
