import { nullTranslator } from '@jupyterlab/translation';
import { batchGroupOf } from './grouping';
import { CanfarModel } from './model';
import { batchEvents, BatchNotifier } from './notifications';
import type { Notify } from './notifications';
import { DEFAULT_SETTINGS } from './tokens';
import type { BatchReplicaSummary, BatchSummary, ICanfarSettings } from './tokens';
import { FakeService, INFO_OK } from './testing.test';

const trans = nullTranslator.load('jupyterlab_canfar');

function batch(
  id: string,
  states: BatchReplicaSummary['state'][],
  extra: Partial<BatchSummary> = {},
): BatchSummary {
  return {
    id,
    name: id,
    total: states.length,
    folder: `canfar-batches/${id}`,
    replicas: states.map((state, i) => ({
      index: i + 1,
      name: `${id}-${i + 1}`,
      sessionId: `${id}-s${i + 1}`,
      state,
      ...(state === 'failed'
        ? { exitCode: 1, failure: { cell: 2, exception: 'ValueError', message: 'bad' } }
        : {}),
    })),
    ...extra,
  };
}

describe('batchEvents', () => {
  it('takes the first poll as the baseline, then notifies a first failure once and the end once', () => {
    const first = batchEvents(undefined, [batchGroupOf(batch('old', ['failed', 'completed']))]);
    expect(first.events).toEqual([]);

    let memory = batchEvents(first.memory, [
      batchGroupOf(batch('b', ['running', 'running', 'pending'])),
    ]).memory;
    const failed = batchEvents(memory, [batchGroupOf(batch('b', ['failed', 'running', 'pending']))]);
    expect(failed.events.map((e) => [e.kind, e.kind === 'first-failure' ? e.row.name : ''])).toEqual([
      ['first-failure', 'b-1'],
    ]);
    // Later polls, and a second failure, say nothing more.
    memory = failed.memory;
    for (const states of [
      ['failed', 'running', 'pending'],
      ['failed', 'failed', 'running'],
    ] as const) {
      const again = batchEvents(memory, [batchGroupOf(batch('b', [...states]))]);
      expect(again.events).toEqual([]);
      memory = again.memory;
    }
    const end = batchEvents(memory, [batchGroupOf(batch('b', ['failed', 'failed', 'completed']))]);
    expect(end.events).toEqual([
      expect.objectContaining({ kind: 'finished', completed: 1, failed: 2, notLaunched: 0 }),
    ]);
    expect(
      batchEvents(end.memory, [batchGroupOf(batch('b', ['failed', 'failed', 'completed']))]).events,
    ).toEqual([]);
  });

  it('says nothing of a batch that appears already finished, and only its end when it fails as it ends', () => {
    const base = batchEvents(undefined, []).memory;
    expect(batchEvents(base, [batchGroupOf(batch('found', ['completed', 'failed']))]).events).toEqual([]);
    const running = batchEvents(base, [batchGroupOf(batch('quick', ['running', 'running']))]).memory;
    const ended = batchEvents(running, [batchGroupOf(batch('quick', ['completed', 'failed']))]);
    expect(ended.events.map((e) => e.kind)).toEqual(['finished']);
  });

  it('notifies again when a finished batch runs again (re-run failed) and fails or ends again', () => {
    let memory = batchEvents(undefined, []).memory;
    memory = batchEvents(memory, [batchGroupOf(batch('r', ['running', 'running']))]).memory;
    memory = batchEvents(memory, [batchGroupOf(batch('r', ['completed', 'failed']))]).memory;
    const rerun = batchEvents(memory, [batchGroupOf(batch('r', ['completed', 'pending']))]);
    expect(rerun.events).toEqual([]);
    const failedAgain = batchEvents(rerun.memory, [
      batchGroupOf(batch('r', ['completed', 'failed'], { phase: 'running' })),
    ]);
    expect(failedAgain.events.map((e) => e.kind)).toEqual(['finished']);
  });
});

describe('BatchNotifier', () => {
  function setup(settings: Partial<ICanfarSettings> = {}) {
    const service = new FakeService();
    const model = new CanfarModel({
      service,
      info: async () => INFO_OK,
      settings: { ...DEFAULT_SETTINGS, ...settings },
    });
    let batches: BatchSummary[] = [];
    model.setBatchSource({ batches: async () => batches });
    const shown: { type: string; message: string; actions: string[]; run: Record<string, () => void> }[] = [];
    const record =
      (type: string): Notify['error'] =>
      (message, options) => {
        const actions = options?.actions ?? [];
        shown.push({
          type,
          message,
          actions: actions.map((a) => a.label),
          run: Object.fromEntries(actions.map((a) => [a.label, () => a.callback(new MouseEvent('click'))])),
        });
        return String(shown.length);
      };
    const notify: Notify = { error: record('error'), warning: record('warning'), success: record('success') };
    const calls: string[] = [];
    const notifier = new BatchNotifier(
      model,
      trans,
      {
        openLogs: (s) => void calls.push(`log:${s.name}`),
        showBatch: (key) => void calls.push(`show:${key}`),
        rerunFailed: (key) => void calls.push(`rerun-failed:${key}`),
      },
      notify,
    );
    return { model, shown, calls, notifier, set: (next: BatchSummary[]) => (batches = next) };
  }

  it('notifies the first failure once with its log, and the end with Open batch and Re-run failed', async () => {
    const { model, shown, calls, set } = setup();
    set([]);
    await model.refresh();
    set([batch('sweep', ['running', 'running', 'running'])]);
    await model.refresh();
    set([batch('sweep', ['failed', 'running', 'running'])]);
    await model.refresh();
    await model.refresh();
    set([batch('sweep', ['failed', 'failed', 'running'])]);
    await model.refresh();
    expect(shown.map((n) => [n.type, n.message, n.actions])).toEqual([
      ['error', 'Batch sweep: replica sweep-1 failed in cell 2 with ValueError', ['Open log', 'Open batch']],
    ]);
    shown[0].run['Open log']();
    set([batch('sweep', ['failed', 'failed', 'completed'])]);
    await model.refresh();
    expect(shown.slice(1).map((n) => [n.type, n.message, n.actions])).toEqual([
      ['warning', 'Batch sweep finished: 1 completed, 2 failed', ['Open batch', 'Re-run failed']],
    ]);
    shown[1].run['Open batch']();
    shown[1].run['Re-run failed']();
    expect(calls).toEqual(['log:sweep-1', 'show:sweep', 'rerun-failed:sweep']);
    model.dispose();
  });

  it('says a batch finished with success when nothing failed, and nothing at all when turned off', async () => {
    const on = setup();
    on.set([]);
    await on.model.refresh();
    on.set([batch('ok', ['running', 'cancelled'])]);
    await on.model.refresh();
    on.set([batch('ok', ['completed', 'cancelled'])]);
    await on.model.refresh();
    expect(on.shown.map((n) => [n.type, n.message, n.actions])).toEqual([
      ['success', 'Batch ok finished: 1 completed, 0 failed, 1 not launched', ['Open batch']],
    ]);
    on.model.dispose();

    const off = setup({ notifications: false });
    off.set([]);
    await off.model.refresh();
    off.set([batch('quiet', ['running', 'running'])]);
    await off.model.refresh();
    off.set([batch('quiet', ['failed', 'completed'])]);
    await off.model.refresh();
    expect(off.shown).toEqual([]);
    off.model.dispose();
  });
});
