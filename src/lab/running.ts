/**
 * A "CANFAR" section in JupyterLab's Running panel: each live batch is one item with its counts
 * ("150/500 Running · 18/500 Pending"), whose children are its first live replicas (at most
 * `MAX_CHILDREN`, then one item that opens the batch in the CANFAR panel); other sessions are leaves.
 * A batch of 1,000 replicas stays one line. It reads the panel's model, so it adds no polling of its own.
 */
import type { IRunningSessions } from '@jupyterlab/running';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import type { Session } from '../skaha';
import { canfarIcon } from './icons';
import { formatResources, summarize, TERMINAL } from './grouping';
import type { BatchGroup, ICanfarModel, ReplicaRow } from './tokens';
import { statusLabel } from './views/labels';

/** Live replicas listed under a batch; the rest are one "more" item. */
export const MAX_CHILDREN = 20;

export interface RunningActions {
  open(session: Session): void;
  /** `ask` false: the caller already asked (the Running panel confirms "Delete All" itself). */
  deleteSession(session: Session, ask: boolean): Promise<void>;
  deleteBatch(group: BatchGroup): Promise<void>;
  /** Opens the CANFAR panel on this batch. */
  showBatch?(group: BatchGroup): void;
}

export class CanfarRunningManager implements IRunningSessions.IManager {
  constructor(
    private readonly model: ICanfarModel,
    private readonly actions: RunningActions,
    private readonly trans: TranslationBundle,
  ) {
    this.name = trans.__('CANFAR');
    this.shutdownAllLabel = trans.__('Delete All');
    this.shutdownLabel = trans.__('Delete');
    model.stateChanged.connect(() => this._runningChanged.emit(undefined), this);
  }

  readonly name: string;
  readonly shutdownAllLabel: string;
  readonly shutdownLabel: string;
  readonly supportsMultipleViews = true;

  // A getter, not a function: JupyterLab 4.0 reads this as a string (4.1+ also accept a function).
  get shutdownAllConfirmationText(): string {
    const count = this._live().length;
    return this.trans._n(
      'Delete %1 CANFAR session that is not finished?',
      'Delete %1 CANFAR sessions that are not finished?',
      count,
    );
  }

  get runningChanged(): Signal<this, undefined> {
    return this._runningChanged;
  }

  refreshRunning(): void {
    void this.model.refresh();
  }

  shutdownAll(): void {
    // The Running panel has already asked for confirmation (shutdownAllConfirmationText).
    void Promise.all(this._live().map((session) => this.actions.deleteSession(session, false)));
  }

  /** JupyterLab 4.0 calls this without options; later versions pass the view mode. */
  running(options?: { mode: 'tree' | 'list' }): IRunningSessions.IRunningItem[] {
    const tree = (options?.mode ?? 'tree') === 'tree';
    const { batches, others } = this.model.state.grouped;
    const live = (row: ReplicaRow) => row.session && !TERMINAL.has(row.status);
    const items: IRunningSessions.IRunningItem[] = [];
    for (const group of batches) {
      const rows = group.replicas.filter(live);
      if (rows.length === 0) continue;
      const summary = summarize(group, (s) => statusLabel(this.trans, s));
      const children = rows.slice(0, MAX_CHILDREN).map((row) => this._item(row.session as Session));
      if (rows.length > MAX_CHILDREN) children.push(this._more(group, rows.length - MAX_CHILDREN));
      items.push({
        label: () => group.name,
        labelTitle: () => `${group.name}: ${summary}`,
        detail: () => summary,
        icon: () => canfarIcon,
        className: 'jp-CanfarRunning-batch',
        ...(tree ? { children } : {}),
        ...(this.actions.showBatch ? { open: () => this.actions.showBatch?.(group) } : {}),
        shutdown: () => void this.actions.deleteBatch(group),
      });
    }
    for (const session of others) {
      if (!TERMINAL.has(session.status)) items.push(this._item(session));
    }
    return items;
  }

  private _item(session: Session): IRunningSessions.IRunningItem {
    const resources = formatResources(session);
    const status = statusLabel(this.trans, session.status);
    return {
      label: () => session.name,
      labelTitle: () => `${session.name} (${session.id}) ${session.image}`,
      detail: () => (resources ? `${status} · ${resources}` : status),
      icon: () => canfarIcon,
      className: 'jp-CanfarRunning-session',
      open: () => this.actions.open(session),
      shutdown: () => void this.actions.deleteSession(session, true),
    };
  }

  private _more(group: BatchGroup, count: number): IRunningSessions.IRunningItem {
    const label = this.trans._n(
      '%1 more replica: open the batch in the CANFAR panel',
      '%1 more replicas: open the batch in the CANFAR panel',
      count,
    );
    return {
      label: () => label,
      labelTitle: () => label,
      icon: () => canfarIcon,
      className: 'jp-CanfarRunning-more',
      ...(this.actions.showBatch ? { open: () => this.actions.showBatch?.(group) } : {}),
    };
  }

  private _live(): Session[] {
    return this.model.state.sessions.filter((session) => !TERMINAL.has(session.status));
  }

  private _runningChanged = new Signal<this, undefined>(this);
}
