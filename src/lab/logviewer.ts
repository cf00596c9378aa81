/**
 * The log viewer (main area): the log of one session, followed while it runs, and its events. The
 * service returns the whole log each time, so `LogTail` keeps only the new suffix and the last lines.
 * Once the platform has forgotten the session (an hour after it ends), the log captured into the batch
 * folder is shown instead, when there is one.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Panel, TabBar, TabPanel, Widget } from '@lumino/widgets';
import { SkahaError } from '../skaha';
import type { SessionEvent } from '../skaha';
import { canfarIcon } from './icons';
import { TERMINAL } from './grouping';
import { describeError } from './model';
import type { ICanfarModel } from './tokens';
import type { ICanfarSettings } from './tokens';
import type { Message } from '@lumino/messaging';
import { LogTail } from './logtail';

export interface LogViewerOptions {
  model: ICanfarModel;
  trans: TranslationBundle;
  sessionId: string;
  /** Name shown in the tab title (the session may already be gone when restored). */
  name: string;
  tab?: 'log' | 'events';
  /** The log saved into the batch folder, for a session the platform no longer has. */
  capturedLog?: (sessionId: string) => Promise<string | undefined>;
  /** Lines kept in memory and in the DOM. */
  maxLines?: number;
  /** Milliseconds between two log fetches while the session runs (default: the panel's interval). */
  interval?: number;
}

/** The log pane: a `<pre>` holding at most `maxLines` lines, plus how many are hidden above. */
export class LogView extends Widget {
  constructor(trans: TranslationBundle, maxLines: number) {
    super();
    this._trans = trans;
    this.tail = new LogTail(maxLines);
    this.addClass('jp-CanfarLog');
    this._hidden = document.createElement('div');
    this._hidden.className = 'jp-CanfarLog-hidden';
    this._status = document.createElement('div');
    this._status.className = 'jp-CanfarLog-status';
    this._pre = document.createElement('pre');
    this._pre.className = 'jp-CanfarLog-text';
    this._pre.append(this._partialNode);
    this.node.append(this._status, this._hidden, this._pre);
    this.title.label = trans.__('Log');
  }

  readonly tail: LogTail;

  get pre(): HTMLPreElement {
    return this._pre;
  }

  setStatus(text: string): void {
    this._status.textContent = text;
  }

  /** Takes the whole log as fetched and updates the DOM with what changed. */
  setLog(whole: string): void {
    const atBottom = this.node.scrollHeight - this.node.scrollTop - this.node.clientHeight < 24;
    const change = this.tail.update(whole);
    if (change.dropped > 0 || change.reset) {
      // Lines left the window: rebuild the (bounded) text rather than trimming nodes one by one.
      const lines = this.tail.lines;
      this._pre.replaceChildren();
      if (lines.length > 0) this._pre.append(document.createTextNode(`${lines.join('\n')}\n`));
      this._pre.append(this._partialNode);
    } else if (change.added.length > 0) {
      // The first added line begins with the partial line shown so far, which the new partial replaces.
      this._pre.insertBefore(document.createTextNode(`${change.added.join('\n')}\n`), this._partialNode);
    }
    this._partialNode.data = this.tail.partial;
    const hidden = this.tail.hiddenLines;
    this._hidden.textContent =
      hidden > 0 ? this._trans._n('%1 earlier line hidden', '%1 earlier lines hidden', hidden) : '';
    if (atBottom) this.node.scrollTop = this.node.scrollHeight;
  }

  private _trans: TranslationBundle;
  private _pre: HTMLPreElement;
  private _hidden: HTMLElement;
  private _status: HTMLElement;
  private _partialNode = document.createTextNode('');
}

/** The events pane: the pod's events as a table (empty while queued, or once cleaned up). */
export class EventsView extends Widget {
  constructor(trans: TranslationBundle) {
    super();
    this._trans = trans;
    this.addClass('jp-CanfarEvents');
    this.title.label = trans.__('Events');
  }

  showEvents(events: SessionEvent[]): void {
    const trans = this._trans;
    if (events.length === 0) {
      this.node.replaceChildren(
        message(trans.__('No events: the session has no pod yet (queued) or no longer has one.')),
      );
      return;
    }
    const table = document.createElement('table');
    table.className = 'jp-CanfarEvents-table';
    const head = document.createElement('tr');
    for (const title of [
      trans.__('Type'),
      trans.__('Reason'),
      trans.__('Message'),
      trans.__('First'),
      trans.__('Last'),
    ]) {
      const th = document.createElement('th');
      th.textContent = title;
      head.append(th);
    }
    table.append(head);
    for (const event of events) {
      const tr = document.createElement('tr');
      if (event.type === 'Warning') tr.className = 'jp-mod-warning';
      for (const value of [
        event.type,
        event.reason,
        event.message,
        event.firstTime ?? '',
        event.lastTime ?? '',
      ]) {
        const td = document.createElement('td');
        td.textContent = value;
        tr.append(td);
      }
      table.append(tr);
    }
    this.node.replaceChildren(table);
  }

  showError(text: string): void {
    this.node.replaceChildren(message(text));
  }

  private _trans: TranslationBundle;
}

function message(text: string): HTMLElement {
  const node = document.createElement('div');
  node.className = 'jp-CanfarLog-message';
  node.textContent = text;
  return node;
}

/** The content of the main-area widget: tabs Log and Events, and the polling that feeds them. */
export class LogViewerContent extends Panel {
  constructor(options: LogViewerOptions) {
    super();
    this.addClass('jp-CanfarLogViewer');
    this._options = options;
    const { trans } = options;
    this.logView = new LogView(trans, options.maxLines ?? 5000);
    this.eventsView = new EventsView(trans);
    this.tabs = new TabPanel({ tabPlacement: 'top' });
    this.tabs.addWidget(this.logView);
    this.tabs.addWidget(this.eventsView);
    this.tabs.currentIndex = options.tab === 'events' ? 1 : 0;
    this.addWidget(this.tabs);
    this.poll = new Poll({
      auto: false,
      factory: () => this._fetch(),
      frequency: {
        interval: options.interval ?? options.model.settings.refreshInterval * 1000,
        backoff: true,
        max: 5 * 60 * 1000,
      },
      name: `jupyterlab-canfar:log:${options.sessionId}`,
      // Each fetch is the WHOLE log: none while the viewer is not on screen (another tab in front).
      standby: () => (!this.isVisible && this.isAttached) || 'when-hidden',
    });
    this.tabs.tabBar.currentChanged.connect(this._onTab, this);
    if (options.interval === undefined) {
      options.model.settingsChanged.connect(this._onSettings, this);
    }
  }

  readonly logView: LogView;
  readonly eventsView: EventsView;
  readonly tabs: TabPanel;
  readonly poll: Poll;

  get sessionId(): string {
    return this._options.sessionId;
  }

  /** The session's name as given when opened (kept for the layout restorer). */
  get sessionName(): string {
    return this._options.name;
  }

  /** Whether the viewer still fetches: false once the session is finished (or gone) and its log read. */
  get following(): boolean {
    return !this.poll.isDisposed && this._following;
  }

  async start(): Promise<void> {
    await this.poll.start();
  }

  /** Fetches now and resolves after that fetch. */
  async refresh(): Promise<void> {
    if (!this.following) return;
    await this.poll.refresh();
    await this.poll.tick.catch(() => undefined);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.poll.dispose();
    super.dispose();
  }

  protected override onBeforeShow(msg: Message): void {
    super.onBeforeShow(msg);
    // Back on screen: catch up at once rather than after up to one interval.
    if (this.following) void this.poll.refresh();
  }

  private _onSettings(_: ICanfarModel, settings: ICanfarSettings): void {
    this.poll.frequency = { ...this.poll.frequency, interval: settings.refreshInterval * 1000 };
  }

  private _onTab(_: TabBar<Widget>): void {
    if (this.tabs.currentWidget === this.eventsView) void this._fetchEvents();
  }

  private async _fetch(): Promise<void> {
    const { model, sessionId, trans } = this._options;
    const session = model.findSession(sessionId);
    // The session's status is read before its log: a log fetched after the session ended is complete.
    const status = session?.status;
    const finished = status !== undefined && TERMINAL.has(status);
    let log: string;
    try {
      log = await model.service.logs(sessionId);
    } catch (error) {
      this.logView.setStatus(trans.__('Could not fetch the log: %1', describeError(error, model.state.info)));
      throw error;
    }
    if (this.logView.tail.length > 0 && log.length === 0 && !session) {
      // The platform deleted the session and its log: keep what we have.
      this._stop(trans.__('The session is gone; this is the log as last fetched.'));
      return;
    }
    if (log.length === 0 && !session && model.state.phase === 'ready') {
      const captured = await this._options.capturedLog?.(sessionId).catch(() => undefined);
      if (captured !== undefined) {
        this.logView.setLog(captured);
        this._stop(
          trans.__('The platform no longer has this session; showing the log saved in the batch folder.'),
        );
      } else {
        this._stop(trans.__('The platform no longer has this session and no saved log was found.'));
      }
      return;
    }
    this.logView.setLog(log);
    if (this.tabs.currentWidget === this.eventsView) await this._fetchEvents();
    if (finished) {
      this._stop(trans.__('%1: the log is complete.', status));
    } else {
      this.logView.setStatus(
        status ? trans.__('%1: following the log…', status) : trans.__('Following the log…'),
      );
    }
  }

  private async _fetchEvents(): Promise<void> {
    const { model, sessionId } = this._options;
    try {
      this.eventsView.showEvents(await model.service.events(sessionId));
    } catch (error) {
      // The service answers 404 for the events of a session without a pod (queued, or cleaned up): that
      // is no error, the empty pane says why.
      if (error instanceof SkahaError && error.code === 'not-found') this.eventsView.showEvents([]);
      else this.eventsView.showError(describeError(error, model.state.info));
    }
  }

  private _stop(text: string): void {
    this._following = false;
    this.logView.setStatus(text);
    void this.poll.stop();
  }

  private _options: LogViewerOptions;
  private _following = true;
}

/** The main-area widget of a session's log; its id names the session so the restorer can rebuild it. */
export function createLogViewer(options: LogViewerOptions): MainAreaWidget<LogViewerContent> {
  const content = new LogViewerContent(options);
  const widget = new MainAreaWidget({ content });
  widget.id = `canfar-log-${options.sessionId}`;
  widget.title.label = options.trans.__('Log: %1', options.name);
  widget.title.caption = options.trans.__(
    'Log and events of CANFAR session %1 (%2)',
    options.name,
    options.sessionId,
  );
  widget.title.icon = canfarIcon;
  widget.title.closable = true;
  void content.start();
  return widget;
}
