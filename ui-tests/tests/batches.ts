// Helpers of the batch tests: a notebook written where the file browser shows it, submitted through
// the dialog as a user does; a batch found in the CANFAR panel by name; an axe-core scan.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from '@playwright/test';

import { expect, REPO } from './fixtures';
import type { JupyterServer } from './fixtures';
import type { JupyterLabPage } from './jupyterlab';

/** A code cell: its source, or its source and tags (`parameters`, `combine`, `imports`...). */
export type CellSpec = string | { source: string; tags?: string[] };

/** Writes a Python notebook of one code cell per entry into `dir` (the Jupyter root). */
export function writeNotebook(dir: string, name: string, cells: CellSpec[]): void {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3 (ipykernel)', language: 'python' },
      language_info: { name: 'python' },
    },
    cells: cells.map((cell, i) => {
      const { source, tags } = typeof cell === 'string' ? { source: cell, tags: undefined } : cell;
      return {
        id: `cell-${i + 1}`,
        cell_type: 'code',
        metadata: tags ? { tags } : {},
        execution_count: null,
        outputs: [],
        source,
      };
    }),
  };
  writeFileSync(join(dir, name), JSON.stringify(notebook, null, 1));
}

/** Opens a notebook of the root folder from the file browser (double click), its kernel idle. */
export async function openNotebook(lab: JupyterLabPage, name: string): Promise<void> {
  const page = lab.page;
  const item = page.locator('.jp-DirListing-item', {
    has: page.locator('.jp-DirListing-itemText', { hasText: new RegExp(`^${name.replace('.', '\\.')}$`) }),
  });
  await expect(item).toBeVisible();
  await item.dblclick();
  await expect(page.locator('.jp-NotebookPanel:visible')).toBeVisible();
  // Once the kernel has started the notebook keeps the focus (a palette opened before would close).
  await lab.waitForKernelIdle();
}

/**
 * The CANFAR settings a user saved (Settings > CANFAR), written before the page opens: e.g. a poll every
 * 2 s (the schema's minimum), so that states lasting a few seconds are seen. Not for an external server.
 */
export function saveCanfarSettings(jupyter: JupyterServer, settings: Record<string, unknown>): void {
  if (!jupyter.stateDir) return;
  const dir = join(jupyter.stateDir, 'user-settings', 'jupyterlab-canfar');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'plugin.jupyterlab-settings'), JSON.stringify(settings));
}

/** The sessions the server half's Skaha endpoint lists now (what the panel's poll reads). */
export async function listSessions(
  jupyter: JupyterServer,
): Promise<{ id: string; name: string; status: string; startTime?: string }[]> {
  const token = jupyter.token ? `?token=${encodeURIComponent(jupyter.token)}` : '';
  const response = await fetch(`${jupyter.url}/canfar/api/skaha/v1/session${token}`);
  expect(response.status).toBe(200);
  return (await response.json()) as { id: string; name: string; status: string; startTime?: string }[];
}

export interface Submission {
  name: string;
  replicas: number;
  env?: string;
  /** Fixed resources: this many cores per replica (default: flexible). */
  cores?: number;
  /** "Try one first": replica 1 alone, the others once it completed. */
  canary?: boolean;
}

/** Opens the submit dialog on the current notebook and fills it; resolves with the dialog. */
export async function openSubmitDialog(lab: JupyterLabPage, fields: Submission): Promise<Locator> {
  const page = lab.page;
  await lab.runCommandFromPalette('Submit Notebook as Headless Batch');
  const dialog = page.locator('.jp-Dialog').last();
  const form = dialog.locator('.jp-CanfarSubmit-form');
  // JupyterLab may have marked the notebook changed on opening it: the command offers to save first.
  const unsaved = page.locator('.jp-Dialog', { hasText: 'Unsaved changes' });
  await expect(form.or(unsaved)).toBeVisible();
  if (await unsaved.isVisible()) await lab.acceptDialog('Save and submit');
  await expect(form).toBeVisible();
  await form.locator('[data-field="name"] input').fill(fields.name);
  await form.locator('[data-field="replicas"] input').fill(String(fields.replicas));
  await form.locator('[data-field="env"] textarea').fill(fields.env ?? '');
  if (fields.cores !== undefined) {
    await form.locator('input[name="flexible"]').uncheck();
    await form.locator('select[name="cores"]').selectOption(String(fields.cores));
  }
  if (fields.canary) await form.locator('input[name="canary"]').check();
  await page.keyboard.press('Tab'); // the form re-validates on leaving a field
  await expect(form.locator('[data-canfar="plan"]')).toContainText(
    fields.replicas === 1 ? '1 headless session' : `${fields.replicas} headless sessions`,
  );
  return dialog;
}

/** Submits the current notebook as a batch through the dialog and waits for the launch to end. */
export async function submitBatch(lab: JupyterLabPage, fields: Submission): Promise<void> {
  await openSubmitDialog(lab, fields);
  await lab.acceptDialog('Submit');
  await expect(lab.page.locator('.jp-Dialog')).toHaveCount(0);
}

/** The batch of the CANFAR panel with this name. */
export function batchNamed(panel: Locator, name: string): Locator {
  return panel
    .locator('.jp-CanfarPanel-batch')
    .filter({ has: panel.page().locator('.jp-CanfarPanel-batchName', { hasText: new RegExp(`^${name}$`) }) });
}

/** Hides every toast (they would cover screenshots). */
export async function hideToasts(page: Page): Promise<void> {
  const hide = page.locator('.jp-toastContainer button[title="Hide notification"]');
  // A toast may close by itself while it is clicked (detached mid-click): try again, a few times.
  for (let i = 0; i < 20 && (await hide.count()) > 0; i++) {
    await hide
      .first()
      .click({ timeout: 2_000 })
      .catch(() => undefined);
  }
  await expect(page.locator('.jp-toastContainer .Toastify__toast')).toHaveCount(0);
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/**
 * Runs axe-core (from npm, injected into the page) on the element `selector`, with the rule that the
 * accessible name must contain the visible label, and returns the serious and critical violations.
 */
export async function axeViolations(target: Locator): Promise<AxeViolation[]> {
  const page = target.page();
  if (!(await page.evaluate(() => 'axe' in window))) {
    await page.addScriptTag({ path: join(REPO, 'node_modules/axe-core/axe.min.js') });
  }
  const result = await target.evaluate(async (node) => {
    const axe = (
      window as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<unknown> } }
    ).axe;
    return axe.run(node, {
      resultTypes: ['violations'],
      // Experimental in axe, and the reason of 14 of today's violations: switched on.
      rules: { 'label-content-name-mismatch': { enabled: true } },
    });
  });
  const violations = (result as { violations: AxeViolation[] }).violations;
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
    }));
}
