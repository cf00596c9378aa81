/**
 * Notifications of batches through JupyterLab's Notification API: the first failure of a batch (once,
 * with an action that opens its log) and the end of a batch (k completed, m failed, with "Open batch"
 * and "Re-run failed"). They arrive with the panel closed: the model keeps polling while a batch runs
 * (see CanfarModel's standby). The batches already known when JupyterLab opens are the baseline: only
 * what happens afterwards is notified.
 */
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { isFinished, kindCounts, replicaKind } from './grouping';
import type { BatchGroup, CanfarState, ICanfarModel, ReplicaRow, SessionRef } from './tokens';

/** What was already notified of a batch. */
export interface BatchMemory {
  /** Its first failure was notified (or was there before the baseline). */
  failed: boolean;
  finished: boolean;
}

export type BatchEvent =
  | { kind: 'first-failure'; group: BatchGroup; row: ReplicaRow }
  | { kind: 'finished'; group: BatchGroup; completed: number; failed: number; notLaunched: number };

/**
 * Compares a poll's batches with what was known. Without a memory (the first poll) everything is the
 * baseline and nothing is notified; so is a batch that appears already finished. A batch's first failure
 * is notified once, unless the batch ended in the same poll (its end says how many failed); a batch that
 * runs again (re-run failed) and ends again is notified again.
 */
export function batchEvents(
  memory: ReadonlyMap<string, BatchMemory> | undefined,
  batches: readonly BatchGroup[],
): { events: BatchEvent[]; memory: Map<string, BatchMemory> } {
  const next = new Map<string, BatchMemory>();
  const events: BatchEvent[] = [];
  for (const group of batches) {
    const finished = isFinished(group);
    const failedRow = group.replicas.find((row) => replicaKind(row) === 'failed');
    const known = memory?.get(group.key);
    // The first poll, or a batch that appears already finished (its folder found later): it ended
    // before it was followed, which is no news.
    if (!memory || (!known && finished)) {
      next.set(group.key, { failed: failedRow !== undefined, finished });
      continue;
    }
    const before = known ?? { failed: false, finished: false };
    // Running again after it ended (re-run failed): a new run, whose failures and end are news again.
    const rerun = before.finished && !finished;
    let failed = rerun ? failedRow !== undefined : before.failed;
    if (failedRow && !failed) {
      failed = true;
      if (!finished) events.push({ kind: 'first-failure', group, row: failedRow });
    }
    if (finished && !before.finished) {
      const counts = kindCounts(group);
      events.push({
        kind: 'finished',
        group,
        completed: counts.completed,
        failed: counts.failed,
        notLaunched: counts.other,
      });
    }
    next.set(group.key, { failed, finished });
  }
  return { events, memory: next };
}

/** What the notifications' actions do. */
export interface NotifierActions {
  openLogs(session: SessionRef): void;
  /** Opens the CANFAR panel on the batch. */
  showBatch(key: string): void;
  /** Asks to re-run the failed replicas of a recorded batch. */
  rerunFailed?(key: string): void;
}

/** The part of JupyterLab's Notification the notifier uses (a fake in tests). */
export type Notify = Pick<typeof Notification, 'error' | 'warning' | 'success'>;

export class BatchNotifier implements IDisposable {
  constructor(
    private readonly model: ICanfarModel,
    private readonly trans: TranslationBundle,
    private readonly actions: NotifierActions,
    private readonly notify: Notify = Notification,
  ) {
    model.stateChanged.connect(this._onState, this);
    this._onState(model, model.state);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this.model.stateChanged.disconnect(this._onState, this);
  }

  private _onState(_: ICanfarModel, state: CanfarState): void {
    // A failed poll keeps the last data: nothing new to read from it.
    if (state.phase !== 'ready') return;
    const { events, memory } = batchEvents(this._memory, state.grouped.batches);
    this._memory = memory;
    if (!this.model.settings.notifications) return;
    for (const event of events) {
      if (event.kind === 'first-failure') this._firstFailure(event.group, event.row);
      else this._finished(event);
    }
  }

  private _firstFailure(group: BatchGroup, row: ReplicaRow): void {
    const trans = this.trans;
    const failure = row.failure;
    const where =
      failure?.cell !== undefined && failure.exception
        ? trans.__(' in cell %1 with %2', failure.cell, failure.exception)
        : failure?.cell !== undefined
          ? trans.__(' in cell %1', failure.cell)
          : failure?.exception
            ? trans.__(' with %1', failure.exception)
            : row.exitCode !== undefined
              ? trans.__(' (exit %1)', row.exitCode)
              : '';
    const id = row.session?.id ?? row.sessionId;
    const actions: Notification.IAction[] = [];
    if (id) {
      actions.push({
        label: trans.__('Open log'),
        caption: trans.__('Show the log of %1', row.name),
        callback: () => this.actions.openLogs({ id, name: row.name }),
      });
    }
    actions.push({
      label: trans.__('Open batch'),
      caption: trans.__('Show batch %1 in the CANFAR panel', group.name),
      callback: () => this.actions.showBatch(group.key),
    });
    this.notify.error(trans.__('Batch %1: replica %2 failed%3', group.name, row.name, where), {
      autoClose: 15_000,
      actions,
    });
  }

  private _finished(event: Extract<BatchEvent, { kind: 'finished' }>): void {
    const trans = this.trans;
    const { group, completed, failed, notLaunched } = event;
    let message = trans.__('Batch %1 finished: %2 completed, %3 failed', group.name, completed, failed);
    if (notLaunched > 0) message += trans.__(', %1 not launched', notLaunched);
    const actions: Notification.IAction[] = [
      {
        label: trans.__('Open batch'),
        caption: trans.__('Show batch %1 in the CANFAR panel', group.name),
        callback: () => this.actions.showBatch(group.key),
      },
    ];
    if (failed > 0 && group.manifest && this.actions.rerunFailed) {
      actions.push({
        label: trans.__('Re-run failed'),
        caption: trans.__('Run the failed replicas of %1 again', group.name),
        displayType: 'accent',
        callback: () => this.actions.rerunFailed?.(group.key),
      });
    }
    const options = { autoClose: failed > 0 ? 15_000 : 8_000, actions } as const;
    if (failed > 0) this.notify.warning(message, options);
    else this.notify.success(message, options);
  }

  private _memory?: Map<string, BatchMemory>;
  private _disposed = false;
}
