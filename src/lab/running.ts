/**
 * A "CANFAR" section in JupyterLab's Running panel: batches as parents with their replicas as children,
 * other sessions as leaves. It reads the panel's model, so it adds no polling of its own.
 */
import type { IRunningSessions } from '@jupyterlab/running';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';
import type { Session } from '../skaha';
import { canfarIcon } from './icons';
import { formatResources, summarize, TERMINAL } from './grouping';
import type { BatchGroup, ReplicaRow } from './grouping';
import type { CanfarModel } from './model';
import { statusLabel } from './panel';

export interface RunningActions {
  open(session: Session): void;
  /** `ask` false: the caller already asked (the Running panel confirms "Delete All" itself). */
  deleteSession(session: Session, ask: boolean): Promise<void>;
  deleteBatch(group: BatchGroup): Promise<void>;
}

export class CanfarRunningManager implements IRunningSessions.IManager {
  constructor(
    private readonly model: CanfarModel,
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

  // JupyterLab 4.0 calls running() without options (it has no list/tree switch) and shows children.
  running(options?: { mode: 'tree' | 'list' }): IRunningSessions.IRunningItem[] {
    const mode = options?.mode ?? 'tree';
    const { batches, others } = this.model.state.grouped;
    const live = (row: ReplicaRow) => row.session && !TERMINAL.has(row.status);
    const items: IRunningSessions.IRunningItem[] = [];
    for (const group of batches) {
      const rows = group.replicas.filter(live);
      if (rows.length === 0) continue;
      if (mode === 'list') {
        items.push(...rows.map((row) => this._item(row.session as Session)));
        continue;
      }
      items.push({
        label: () => group.name,
        labelTitle: () => `${group.name}: ${summarize(group, (s) => statusLabel(this.trans, s))}`,
        detail: () => summarize(group, (s) => statusLabel(this.trans, s)),
        icon: () => canfarIcon,
        className: 'jp-CanfarRunning-batch',
        children: rows.map((row) => this._item(row.session as Session)),
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

  private _live(): Session[] {
    return this.model.state.sessions.filter((session) => !TERMINAL.has(session.status));
  }

  private _runningChanged = new Signal<this, undefined>(this);
}
