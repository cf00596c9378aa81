// The batch picture outside the panel (notebook outputs): bar with its counts, grid, failures.
import { Widget } from '@lumino/widgets';
import { act } from 'react';
import { batchGroupOf } from '../grouping';
import type { BatchSummary, ReplicaRow } from '../tokens';
import { BatchPicture } from './picture';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const summary = (states: ('completed' | 'failed' | 'running')[]): BatchSummary => ({
  id: '20260721-180000-pict',
  name: 'pict',
  total: states.length,
  replicas: states.map((state, i) => ({
    index: i + 1,
    name: `pict-${i + 1}`,
    sessionId: `s${i + 1}`,
    state,
    ...(state === 'failed'
      ? { exitCode: 1, failure: { cell: 3, exception: 'KeyError', message: "'x'" } }
      : {}),
  })),
});

describe('BatchPicture', () => {
  it('draws a batch from its summary alone, redraws what changed, and opens replicas and logs', async () => {
    const opened: string[] = [];
    const picture = new BatchPicture({
      onOpenReplica: (row: ReplicaRow) => void opened.push(`open:${row.name}`),
      onOpenLog: (row: ReplicaRow) => void opened.push(`log:${row.name}`),
    });
    await act(async () => {
      Widget.attach(picture, document.body);
      picture.group = batchGroupOf(summary(['completed', 'running', 'failed', 'failed']));
    });
    const node = picture.node;
    expect([...node.querySelectorAll('.jp-CanfarProgress-count')].map((c) => c.textContent)).toEqual([
      '1/4 completed',
      '2/4 failed',
      '1/4 running',
    ]);
    expect(node.querySelectorAll('[data-canfar="grid"] [role="option"]')).toHaveLength(4);
    expect(node.querySelector('[data-canfar="failure-title"]')?.textContent).toBe(
      '2 replicas failed in cell 3 with KeyError',
    );
    const cell = node.querySelectorAll<HTMLElement>('[role="option"]')[1];
    await act(async () => cell.click());
    expect(opened).toEqual(['open:pict-2']);
    expect(cell.getAttribute('aria-selected')).toBe('true');
    await act(async () => node.querySelector<HTMLButtonElement>('.jp-CanfarFailures-group button')!.click());
    await act(async () =>
      node
        .querySelector<HTMLButtonElement>('.jp-CanfarFailures-replicas [data-canfar-action="logs"]')!
        .click(),
    );
    expect(opened).toEqual(['open:pict-2', 'log:pict-3']);

    // The batch moves on: the same cell nodes, re-coloured.
    await act(async () => {
      picture.group = batchGroupOf(summary(['completed', 'completed', 'failed', 'failed']));
    });
    expect(node.querySelectorAll<HTMLElement>('[role="option"]')[1]).toBe(cell);
    expect(cell.className).toContain('jp-mod-completed');
    await act(async () => picture.dispose());
  });
});
