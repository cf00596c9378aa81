/**
 * The batch output widget as a notebook shows it: the snapshot the kernel wrote (submitting, failed, or a
 * state), then the live state from the panel's model, without the cell running again; a reloaded output
 * finds its batch by its folder.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';
import { act } from 'react';
import { BATCH_MIME } from '../../batch';
import type { BatchOutputData } from '../../batch';
import { BatchBridge } from '../batch-bridge';
import { CanfarModel } from '../model';
import { INFO_OK, modelWithBatches, ONE_CELL_NOTEBOOK } from '../testing.test';
import { BatchOutputWidget, relativeFolder } from './batch-output';

// The picture (bar, grid, failures) is the panel's, drawn by React: `act` lets it commit before assertions.
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
const settle = (action: () => unknown) =>
  act(async () => {
    await action();
  });

const setup = modelWithBatches;

function output(
  model: CanfarModel,
  bridge: BatchBridge | null,
  data: Partial<BatchOutputData>,
  opened: string[] = [],
) {
  const widget = new BatchOutputWidget(
    {
      mimeType: BATCH_MIME,
      sanitizer: { sanitize: (s: string) => s },
      resolver: null,
      linkHandler: null,
      latexTypesetter: null,
    } as never,
    { model, bridge, serverRoot: '/arc/home/jdoe', openLog: (s) => void opened.push(`${s.name} ${s.id}`) },
  );
  const render = (value: Partial<BatchOutputData>) =>
    widget.renderModel(
      new MimeModel({
        data: { [BATCH_MIME]: { version: 1, at: '2026-07-21T18:00:00Z', ...value } as never },
      }),
    );
  return { widget, render, ready: render(data) };
}

const summary = (widget: Widget) => widget.node.querySelector('[data-canfar="summary"]')?.textContent;

describe('BatchOutputWidget', () => {
  it('shows "Submitting…" at once, then the live state from the model, then the final state', async () => {
    const { bridge, model, sessions, store } = await setup();
    const batchId = '20260721-180000-abcd';
    const opened: string[] = [];
    const { widget, render, ready } = output(
      model,
      bridge,
      {
        batchId,
        phase: 'submitting',
        folder: `work/canfar-batches/${batchId}`,
        notebook: 'other.ipynb',
      },
      opened,
    );
    await settle(() => ready);
    await settle(() => Widget.attach(widget, document.body));
    expect(summary(widget)).toBe('Submitting…');
    await settle(() =>
      render({
        batchId,
        phase: 'submitting',
        folder: `work/canfar-batches/${batchId}`,
        launched: 1,
        total: 3,
      }),
    );
    expect(summary(widget)).toBe('Submitting… 1/3 launched');

    // The extension launches it (as the kernel asked), and the model polls.
    const plan = await bridge.plan(
      {
        notebookPath: 'work/other.ipynb',
        notebookText: ONE_CELL_NOTEBOOK,
        replicas: 3,
        image: 'images.canfar.net/skaha/astroml:latest',
        name: 'other',
      },
      { batchId },
    );
    await bridge.launchPlan(plan, { concurrency: 4 });
    await settle(() => model.refresh());
    expect(summary(widget)).toBe('3/3 Pending');
    expect(widget.node.querySelectorAll('[data-canfar="grid"] [role="option"]')).toHaveLength(3);

    sessions[0].status = 'Running';
    await settle(() => model.refresh());
    expect(summary(widget)).toBe('1/3 Running · 2/3 Pending');
    expect(widget.node.querySelector('[data-canfar="live"]')?.textContent).toBe('live');

    for (const s of sessions) s.status = 'Completed';
    for (const i of [1, 2, 3])
      await store.writeTextAtomic(
        `work/canfar-batches/${batchId}/status/replica-${i}.json`,
        JSON.stringify({
          replica: i,
          start: '2026-07-21T18:00:00Z',
          end: '2026-07-21T18:00:05Z',
          exitCode: i === 2 ? 1 : 0,
        }),
      );
    sessions[1].status = 'Failed';
    await settle(() => model.refresh());
    expect(summary(widget)).toBe('1/3 Failed · 2/3 Completed');
    // The failures, grouped as the panel groups them; open, the group lists replica 2 with its exit code.
    const failures = widget.node.querySelector('[data-canfar="failures"]')!;
    await settle(() => failures.querySelector<HTMLButtonElement>('.jp-CanfarFailures-group button')!.click());
    expect(
      [...failures.querySelectorAll('.jp-CanfarFailures-replicas li')].map((li) => li.textContent),
    ).toEqual(['other-2exit 1Logs']);
    // A replica opens in the log viewer: from its grid cell, and from its failure group.
    const cells = widget.node.querySelectorAll<HTMLElement>('[data-canfar="grid"] [role="option"]');
    await settle(() => cells[0].click());
    await settle(() =>
      failures
        .querySelector<HTMLButtonElement>('.jp-CanfarFailures-replicas [data-canfar-action="logs"]')!
        .click(),
    );
    expect(opened).toEqual([`other-1 ${sessions[0].id}`, `other-2 ${sessions[1].id}`]);
    const segments = [...widget.node.querySelectorAll('.jp-CanfarProgress-segment')] as HTMLElement[];
    expect(segments.map((s) => [s.dataset.kind, s.dataset.count])).toEqual([
      ['completed', '2'],
      ['failed', '1'],
    ]);
    expect(widget.node.querySelector('[data-canfar="live"]')?.textContent).toBe('final state');
    await settle(() => widget.dispose());
  });

  it('after a reload, an output written by the CLI (absolute folder) finds its batch and goes live', async () => {
    const { bridge, model, sessions, client, store } = await setup();
    const batchId = '20260721-190000-wxyz';
    const plan = await bridge.plan(
      {
        notebookPath: 'work/other.ipynb',
        notebookText: ONE_CELL_NOTEBOOK,
        replicas: 2,
        image: 'images.canfar.net/skaha/astroml:latest',
      },
      { batchId },
    );
    // Launched elsewhere: a fresh bridge (a reloaded page) does not know it.
    await new BatchBridge({ client, store }).launchPlan(plan, { concurrency: 2 });
    for (const s of sessions) s.status = 'Completed';
    const { widget, ready } = output(model, bridge, {
      batchId,
      phase: 'running',
      absoluteFolder: `/arc/home/jdoe/work/canfar-batches/${batchId}`,
      replicas: [
        { replica: 1, state: 'running' },
        { replica: 2, state: 'pending' },
      ],
    });
    await settle(() => ready);
    await settle(() => Widget.attach(widget, document.body));
    // The snapshot first (what the kernel saw), then the model's state.
    expect(summary(widget)).toBe('1/2 Running · 1/2 Pending');
    await settle(() => model.refresh());
    await settle(() => model.refresh());
    expect(summary(widget)).toBe('2/2 Completed');
    await settle(() => widget.dispose());
  });

  it('a deleted batch keeps its snapshot and says it was deleted; the model may stand by again', async () => {
    const { bridge, model, client, store } = await setup();
    const batchId = '20260721-200000-dddd';
    const plan = await bridge.plan(
      {
        notebookPath: 'work/other.ipynb',
        notebookText: ONE_CELL_NOTEBOOK,
        replicas: 2,
        image: 'images.canfar.net/skaha/astroml:latest',
      },
      { batchId },
    );
    await bridge.launchPlan(plan, { concurrency: 2 });
    await settle(() => model.refresh());
    await model.deleteBatch(model.findBatch(batchId)!);
    // A reloaded page: the output is rendered, its folder says the batch was deleted.
    const reloaded = new BatchBridge({ client, store });
    const reloadedModel = new CanfarModel({ service: client, info: async () => INFO_OK });
    reloadedModel.setBatchSource({ batches: (s) => reloaded.batches(s) });
    const visible = jest.spyOn(reloadedModel, 'setVisible');
    const { widget, ready } = output(reloadedModel, reloaded, {
      batchId,
      phase: 'running',
      folder: `work/canfar-batches/${batchId}`,
      replicas: [
        { replica: 1, state: 'running' },
        { replica: 2, state: 'running' },
      ],
    });
    await settle(() => ready);
    await settle(() => Widget.attach(widget, document.body));
    await settle(() => reloadedModel.refresh());
    expect(widget.node.querySelector('[data-canfar="live"]')?.textContent).toMatch(/^deleted \(snapshot of/);
    expect(summary(widget)).toBe('2/2 Running');
    expect(visible).toHaveBeenLastCalledWith(expect.any(String), false);
    await settle(() => widget.dispose());
  });

  it('a batch that was not launched shows why, and follows nothing', async () => {
    const { bridge, model } = await setup();
    const follow = jest.spyOn(bridge, 'follow');
    const { widget, ready } = output(model, bridge, {
      batchId: '20260721-180000-abcd',
      phase: 'failed',
      folder: 'work/canfar-batches/20260721-180000-abcd',
      error: {
        message: 'The batch was not submitted (nothing was written or launched):',
        problems: ['cores = 3: not offered'],
      },
    });
    await settle(() => ready);
    expect(summary(widget)).toBe('Not launched');
    expect(widget.node.querySelector('[data-canfar="error"]')?.textContent).toContain(
      'cores = 3: not offered',
    );
    expect(follow).not.toHaveBeenCalled();
    await settle(() => widget.dispose());
  });

  it('maps folders to the server root', () => {
    const base = { version: 1 as const, batchId: 'x', phase: 'done' as const, at: '' };
    expect(relativeFolder({ ...base, folder: 'a/canfar-batches/x' }, '/root')).toBe('a/canfar-batches/x');
    expect(relativeFolder({ ...base, absoluteFolder: '/root/a/canfar-batches/x' }, '/root/')).toBe(
      'a/canfar-batches/x',
    );
    expect(
      relativeFolder({ ...base, absoluteFolder: '/elsewhere/canfar-batches/x' }, '/root'),
    ).toBeUndefined();
  });
});
