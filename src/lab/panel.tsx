/**
 * The CANFAR side panel: who and where (header), batches as groups of replicas with k/N per status, the
 * other sessions, and the actions on them. Plain DOM in a lumino widget, redrawn on each model change;
 * what is expanded survives the redraws.
 */
import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import type { Session } from '../skaha';
import { canfarIcon } from './icons';
import { formatDuration, formatResources, isSettled, summarize } from './grouping';
import type { BatchGroup, ReplicaRow, ReplicaStatus } from './grouping';
import type { CanfarModel, CanfarState } from './model';

/** What the panel's buttons do; the plugin provides them (dialogs, log viewer, src/batch). */
/** A session by id and name: enough to show its (saved) log or delete it, even once the platform forgot it. */
export interface SessionRef {
  id: string;
  name: string;
}

export interface PanelActions {
  openLogs(session: SessionRef, tab: 'log' | 'events'): void;
  /** Asks for confirmation (per settings) and deletes. */
  deleteSession(session: SessionRef): Promise<void>;
  deleteBatch(group: BatchGroup): Promise<void>;
  /** Batch actions; absent until src/batch offers them (the buttons are then not shown). */
  rerun?(group: BatchGroup, onlyFailed: boolean): Promise<void>;
  openScript?(group: BatchGroup): void;
  openFolder?(group: BatchGroup): void;
  submitNotebook?(): void;
}

export interface CanfarPanelOptions {
  model: CanfarModel;
  actions: PanelActions;
  trans: TranslationBundle;
  now?: () => number;
}

export class CanfarPanel extends Widget {
  constructor(options: CanfarPanelOptions) {
    super();
    this._model = options.model;
    this._actions = options.actions;
    this._trans = options.trans;
    this._now = options.now ?? Date.now;
    this.id = 'jp-canfar-panel';
    this.addClass('jp-CanfarPanel');
    this.title.icon = canfarIcon;
    this.title.caption = this._trans.__('CANFAR batches and sessions');
    this._model.stateChanged.connect(this._render, this);
    this._render();
  }

  get model(): CanfarModel {
    return this._model;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._model.setVisible(this.id, false);
    this._model.stateChanged.disconnect(this._render, this);
    super.dispose();
  }

  /** Expands or collapses a batch group (by its key). */
  toggle(key: string, expanded?: boolean): void {
    const open = expanded ?? !this._expanded.has(key);
    if (open) this._expanded.add(key);
    else this._expanded.delete(key);
    this._render();
  }

  protected override onBeforeShow(msg: Message): void {
    super.onBeforeShow(msg);
    // Coming back to the panel refreshes at once instead of showing data up to one interval old.
    this._model.setVisible(this.id, true);
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.setVisible(this.id, false);
  }

  private _render(): void {
    const state = this._model.state;
    const node = this.node;
    node.replaceChildren(this._header(state), this._body(state));
  }

  private _header(state: CanfarState): HTMLElement {
    const trans = this._trans;
    const header = el('div', 'jp-CanfarPanel-header');
    const titleRow = el('div', 'jp-CanfarPanel-titleRow');
    titleRow.append(el('h2', 'jp-CanfarPanel-title', 'CANFAR'));
    if (this._actions.submitNotebook) {
      titleRow.append(
        button(
          trans.__('Submit…'),
          trans.__('Submit the current notebook as a headless batch'),
          'submit',
          () => this._actions.submitNotebook?.(),
        ),
      );
    }
    const refresh = button('', trans.__('Refresh now'), 'refresh', () => void this._model.refresh());
    refreshIcon.element({ container: refresh, tag: 'span', elementPosition: 'center' });
    titleRow.append(refresh);
    header.append(titleRow);

    const info = state.info;
    if (info) {
      const parts = [trans.__('Endpoint: %1', info.url ? `${info.endpoint} (${info.url})` : info.endpoint)];
      if (info.user) parts.push(trans.__('User: %1', info.user));
      if (info.credential) {
        const kind = info.credential.kind;
        parts.push(
          info.credential.source
            ? trans.__('Credential: %1 from %2', kind, info.credential.source)
            : trans.__('Credential: %1', kind),
        );
      }
      const line = el('div', 'jp-CanfarPanel-info');
      for (const part of parts) line.append(el('span', 'jp-CanfarPanel-infoItem', part));
      line.dataset.canfar = 'info';
      header.append(line);
    } else if (this._model.settings.endpoint) {
      header.append(
        el('div', 'jp-CanfarPanel-info', trans.__('Endpoint (settings): %1', this._model.settings.endpoint)),
      );
    }
    if (state.stats) {
      const { cores, ram } = state.stats;
      const stats = el(
        'div',
        'jp-CanfarPanel-stats',
        trans.__(
          'Platform: %1 of %2 cores and %3 of %4 GB requested',
          fmt(cores.requested),
          fmt(cores.available),
          fmt(ram.requestedGB),
          fmt(ram.availableGB),
        ),
      );
      stats.dataset.canfar = 'stats';
      header.append(stats);
    } else if (state.statsProblem) {
      header.append(
        el('div', 'jp-CanfarPanel-stats', trans.__('Platform load unavailable: %1', state.statsProblem)),
      );
    }
    return header;
  }

  private _body(state: CanfarState): HTMLElement {
    const trans = this._trans;
    const body = el('div', 'jp-CanfarPanel-body');
    if (state.problem) {
      const box = el('div', 'jp-CanfarPanel-message jp-CanfarPanel-error');
      box.dataset.canfar = 'error';
      box.dataset.problem = state.problem.kind;
      box.append(el('p', '', state.problem.message));
      box.append(
        button(trans.__('Try again'), trans.__('Poll again now'), 'retry', () => void this._model.refresh()),
      );
      body.append(box);
    }
    if (state.batchProblem) {
      const box = el(
        'div',
        'jp-CanfarPanel-message jp-CanfarPanel-warning',
        trans.__(
          'Batch folders could not be read (sessions are grouped by name only): %1',
          state.batchProblem,
        ),
      );
      box.dataset.canfar = 'batch-problem';
      body.append(box);
    }
    if (state.phase === 'loading') {
      const box = el('div', 'jp-CanfarPanel-message', trans.__('Loading sessions…'));
      box.dataset.canfar = 'loading';
      body.append(box);
      return body;
    }
    const { batches, others } = state.grouped;
    if (state.phase === 'ready' && batches.length === 0 && others.length === 0) {
      const box = el(
        'div',
        'jp-CanfarPanel-message',
        trans.__(
          'No sessions yet. Open a notebook and use "Submit notebook as headless batch…" (notebook toolbar, file browser context menu or command palette) to run it as N replicas.',
        ),
      );
      box.dataset.canfar = 'empty';
      body.append(box);
      return body;
    }
    if (batches.length > 0) {
      body.append(el('h3', 'jp-CanfarPanel-sectionTitle', trans.__('Batches')));
      const list = el('ul', 'jp-CanfarPanel-batches');
      for (const group of batches) list.append(this._group(group));
      body.append(list);
    }
    if (others.length > 0) {
      body.append(el('h3', 'jp-CanfarPanel-sectionTitle', trans.__('Other sessions')));
      const list = el('ul', 'jp-CanfarPanel-others');
      for (const session of others) list.append(this._other(session));
      body.append(list);
    }
    if (state.updated) {
      body.append(
        el('div', 'jp-CanfarPanel-updated', trans.__('Updated %1', state.updated.toLocaleTimeString())),
      );
    }
    return body;
  }

  private _group(group: BatchGroup): HTMLElement {
    const trans = this._trans;
    const expanded = this._expanded.has(group.key);
    const item = el('li', 'jp-CanfarPanel-batch');
    item.dataset.key = group.key;
    const row = el('div', 'jp-CanfarPanel-batchRow');
    const toggle = button(expanded ? '▾' : '▸', trans.__('Show the replicas'), 'toggle', () =>
      this.toggle(group.key),
    );
    toggle.setAttribute('aria-expanded', String(expanded));
    row.append(toggle, el('span', 'jp-CanfarPanel-batchName', group.name));
    const summary = el(
      'span',
      'jp-CanfarPanel-summary',
      summarize(group, (s) => statusLabel(trans, s)),
    );
    summary.dataset.canfar = 'summary';
    row.append(summary);
    const actions = el('span', 'jp-CanfarPanel-actions');
    const a = this._actions;
    if (a.rerun && group.manifest) {
      actions.append(
        button(
          trans.__('Re-run'),
          trans.__('Run this batch again'),
          'rerun',
          () => void a.rerun?.(group, false),
        ),
      );
      if ((group.counts.Failed ?? 0) + (group.counts.Error ?? 0) > 0 && isSettled(group)) {
        actions.append(
          button(
            trans.__('Re-run failed'),
            trans.__('Run the failed replicas again'),
            'rerun-failed',
            () => void a.rerun?.(group, true),
          ),
        );
      }
    }
    if (a.openScript && group.manifest) {
      actions.append(
        button(trans.__('Script'), trans.__('Open the script the replicas run'), 'open-script', () =>
          a.openScript?.(group),
        ),
      );
    }
    if (a.openFolder && group.manifest) {
      actions.append(
        button(trans.__('Folder'), trans.__('Open the batch folder'), 'open-folder', () =>
          a.openFolder?.(group),
        ),
      );
    }
    // A recorded batch can be deleted (hidden) also once the platform has forgotten its sessions.
    if (group.manifest || group.replicas.some((r) => r.session)) {
      actions.append(
        button(
          trans.__('Delete all'),
          group.manifest
            ? trans.__('Delete every session of this batch and remove it from the panel (its folder stays)')
            : trans.__('Delete every session of this batch'),
          'delete-batch',
          () => void a.deleteBatch(group),
        ),
      );
    }
    row.append(actions);
    item.append(row);
    if (expanded) {
      const list = el('ul', 'jp-CanfarPanel-replicas');
      for (const replica of group.replicas) list.append(this._replica(replica));
      item.append(list);
    }
    return item;
  }

  /**
   * One replica on two lines, to fit a side panel: name, status, duration and exit code, then its
   * session id, start time and resources; the row's tooltip says why it failed, when known.
   */
  private _replica(row: ReplicaRow): HTMLElement {
    const trans = this._trans;
    const item = el('li', `jp-CanfarPanel-replica jp-mod-${row.status.toLowerCase()}`);
    item.dataset.name = row.name;
    const start = row.start;
    const end = row.end ?? (row.status === 'Running' ? new Date(this._now()) : undefined);
    const main = el('div', 'jp-CanfarPanel-replicaMain');
    main.append(
      el('span', 'jp-CanfarPanel-replicaName', row.name),
      el(
        'span',
        'jp-CanfarPanel-status',
        row.cleanedUp
          ? trans.__('%1 (cleaned up)', statusLabel(trans, row.status))
          : statusLabel(trans, row.status),
      ),
    );
    if (start && end)
      main.append(el('span', 'jp-CanfarPanel-duration', formatDuration(end.getTime() - start.getTime())));
    if (row.exitCode !== undefined) {
      const exit = el('span', 'jp-CanfarPanel-exit', trans.__('exit %1', row.exitCode));
      exit.dataset.canfar = 'exit';
      main.append(exit);
    }
    const actions = el('span', 'jp-CanfarPanel-actions');
    const id = row.session?.id ?? row.sessionId;
    if (id) actions.append(...this._sessionButtons({ id, name: row.name }, row.session !== undefined));
    main.append(actions);
    const details = el('div', 'jp-CanfarPanel-replicaDetails');
    for (const part of [id, start ? formatStart(start, this._now()) : '', formatResources(row.session)]) {
      if (part) details.append(el('span', '', part));
    }
    item.append(main, details);
    if (row.message) {
      item.title = row.message;
      details.append(el('span', 'jp-CanfarPanel-why', row.message));
    }
    return item;
  }

  private _other(session: Session): HTMLElement {
    const trans = this._trans;
    const item = el('li', `jp-CanfarPanel-other jp-mod-${session.status.toLowerCase()}`);
    item.dataset.name = session.name;
    item.append(
      el('span', 'jp-CanfarPanel-otherName', session.name),
      el('span', 'jp-CanfarPanel-type', session.type),
      el('span', 'jp-CanfarPanel-status', statusLabel(trans, session.status)),
    );
    if (session.connectURL) {
      const link = el('a', 'jp-CanfarPanel-link', trans.__('Open'));
      link.setAttribute('href', session.connectURL);
      link.setAttribute('target', '_blank');
      link.setAttribute('rel', 'noopener');
      item.append(link);
    }
    const actions = el('span', 'jp-CanfarPanel-actions');
    actions.append(...this._sessionButtons(session, true));
    item.append(actions);
    return item;
  }

  /** Logs and events for any session the batch knows; Delete only while the platform lists it. */
  private _sessionButtons(target: SessionRef, listed: boolean): HTMLElement[] {
    const trans = this._trans;
    const a = this._actions;
    const buttons = [
      button(trans.__('Logs'), trans.__('Show the log of %1', target.name), 'logs', () =>
        a.openLogs(target, 'log'),
      ),
      button(trans.__('Events'), trans.__('Show the events of %1', target.name), 'events', () =>
        a.openLogs(target, 'events'),
      ),
    ];
    if (listed) {
      buttons.push(
        button(
          trans.__('Delete'),
          trans.__('Delete session %1', target.name),
          'delete',
          () => void a.deleteSession(target),
        ),
      );
    }
    return buttons;
  }

  private _model: CanfarModel;
  private _actions: PanelActions;
  private _trans: TranslationBundle;
  private _now: () => number;
  private _expanded = new Set<string>();
}

export function statusLabel(trans: TranslationBundle, status: ReplicaStatus): string {
  switch (status) {
    case 'Pending':
      return trans.__('Pending');
    case 'Running':
      return trans.__('Running');
    case 'Completed':
      return trans.__('Completed');
    case 'Failed':
      return trans.__('Failed');
    case 'Terminating':
      return trans.__('Terminating');
    case 'Error':
      return trans.__('Error');
    case 'Gone':
      return trans.__('Gone');
    case 'Cancelled':
      return trans.__('Not launched');
    default:
      return trans.__('Unknown');
  }
}

/** The time alone for today's starts, else date and time: the panel is narrow. */
function formatStart(start: Date, now: number): string {
  const sameDay = new Date(now).toDateString() === start.toDateString();
  return sameDay
    ? start.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : start.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function fmt(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label: string, title: string, action: string, onClick: () => void): HTMLButtonElement {
  const node = el('button', 'jp-CanfarPanel-button jp-Button jp-mod-minimal', label);
  node.type = 'button';
  node.title = title;
  node.setAttribute('aria-label', title);
  node.dataset.canfarAction = action;
  node.addEventListener('click', (event) => {
    event.stopPropagation();
    onClick();
  });
  return node;
}
