/**
 * The pictures of a batch in a notebook output: a stacked bar of the replica states and a grid with one
 * cell per replica. Both take a BatchGroup (src/lab/grouping.ts), what the panel draws its batches from,
 * so the panel's own bar and grid (src/lab/views/, issue 11) can replace these two functions without
 * touching the output widget.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import type { BatchGroup, ReplicaStatus } from '../grouping';

/** The bar's segments, in order: done first, what needs attention last. */
export const BAR_ORDER: { key: string; statuses: ReplicaStatus[] }[] = [
  { key: 'completed', statuses: ['Completed'] },
  { key: 'running', statuses: ['Running', 'Terminating'] },
  { key: 'pending', statuses: ['Pending', 'Unknown'] },
  { key: 'failed', statuses: ['Failed', 'Error'] },
  { key: 'other', statuses: ['Cancelled', 'Gone'] },
];

/** The CSS class suffix of a replica status (jp-CanfarOutput-state-<key>). */
export function stateKey(status: ReplicaStatus): string {
  return BAR_ORDER.find((segment) => segment.statuses.includes(status))?.key ?? 'other';
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string) {
  const node = document.createElement(tag);
  node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A stacked bar: one segment per state group, as wide as its share of the replicas. */
export function renderBar(group: BatchGroup, trans: TranslationBundle): HTMLElement {
  const bar = el('div', 'jp-CanfarOutput-bar');
  bar.dataset.canfar = 'bar';
  bar.setAttribute('role', 'img');
  const parts: string[] = [];
  for (const segment of BAR_ORDER) {
    const count = segment.statuses.reduce((sum, status) => sum + (group.counts[status] ?? 0), 0);
    if (!count) continue;
    const part = el('div', `jp-CanfarOutput-segment jp-CanfarOutput-state-${segment.key}`);
    part.style.width = `${(100 * count) / Math.max(1, group.total)}%`;
    part.dataset.count = String(count);
    part.title = `${count} ${segment.key}`;
    bar.appendChild(part);
    parts.push(`${count} ${segment.key}`);
  }
  bar.setAttribute('aria-label', trans.__('Replicas: %1', parts.join(', ') || trans.__('none yet')));
  return bar;
}

/** One cell per replica, coloured by its state, its number and state in the tooltip. */
export function renderGrid(group: BatchGroup, trans: TranslationBundle): HTMLElement {
  const grid = el('div', 'jp-CanfarOutput-grid');
  grid.dataset.canfar = 'grid';
  for (const row of group.replicas) {
    const cell = el('span', `jp-CanfarOutput-cell jp-CanfarOutput-state-${stateKey(row.status)}`);
    cell.dataset.replica = String(row.index ?? '');
    cell.dataset.status = row.status;
    const exit = row.exitCode !== undefined ? `, ${trans.__('exit %1', row.exitCode)}` : '';
    cell.title = `${trans.__('replica %1', row.index ?? row.name)}: ${row.status}${exit}${row.message ? ` (${row.message})` : ''}`;
    grid.appendChild(cell);
  }
  return grid;
}
