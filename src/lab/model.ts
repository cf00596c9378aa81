/**
 * The state behind the CANFAR panel, the Running panel section and the log viewer: one poll of the
 * session list for everything, the platform stats less often, and the server half's info once.
 * It knows nothing of the shell: views call `setVisible` and read `state`.
 *
 * The state is immutable and structurally shared from poll to poll (src/lab/share.ts): a poll that finds
 * nothing new emits nothing, and one that finds a change keeps every unchanged batch, row and session
 * the same object, so that views re-render only what changed.
 */
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Poll } from '@lumino/polling';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';
import { SkahaError } from '../skaha';
import type { Session } from '../skaha';
import { groupSessions, isFinished } from './grouping';
import { shareEqual } from './share';
import { DEFAULT_SETTINGS } from './tokens';
import type {
  BatchGroup,
  BatchSource,
  BatchSummary,
  CanfarInfo,
  CanfarState,
  ICanfarModel,
  ICanfarSettings,
  InfoResult,
  Problem,
  SessionService,
} from './tokens';

// Public data types (tokens.ts), re-exported for the modules that know them from here.
export type { BatchSource, CanfarState, SessionService } from './tokens';

export interface CanfarModelOptions {
  service: SessionService;
  info: () => Promise<InfoResult>;
  /**
   * The batches to join with this poll's sessions (src/batch's monitor over the batch folders). It gets
   * the sessions just listed, so that one poll makes one list call.
   */
  batches?: (sessions: Session[]) => Promise<BatchSummary[]>;
  settings?: ICanfarSettings;
  /** Upper bound of the backoff after failures, in ms. */
  maxInterval?: number;
  /** Milliseconds between two stats calls at least; stats are also never fetched more than every 5 polls. */
  statsInterval?: number;
  now?: () => number;
  /** Translates the problems the model describes (the panel shows them). */
  trans?: TranslationBundle;
}

/** The longest wait between polls after repeated failures. */
const MAX_INTERVAL_MS = 5 * 60 * 1000;

export class CanfarModel implements ICanfarModel {
  constructor(options: CanfarModelOptions) {
    this._service = options.service;
    this._info = options.info;
    this._batches = options.batches;
    this._settings = options.settings ?? DEFAULT_SETTINGS;
    this._statsInterval = options.statsInterval ?? 60_000;
    this._now = options.now ?? Date.now;
    this._trans = options.trans ?? nullTranslator.load('jupyterlab_canfar');
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: {
        interval: this._settings.refreshInterval * 1000,
        backoff: true,
        max: Math.max(options.maxInterval ?? MAX_INTERVAL_MS, this._settings.refreshInterval * 1000),
      },
      name: 'jupyterlab-canfar:sessions',
      standby: () => this._standby(),
    });
  }

  get service(): SessionService {
    return this._service;
  }

  get state(): CanfarState {
    return this._state;
  }

  get settings(): ICanfarSettings {
    return this._settings;
  }

  get stateChanged(): ISignal<this, CanfarState> {
    return this._stateChanged;
  }

  get settingsChanged(): ISignal<this, ICanfarSettings> {
    return this._settingsChanged;
  }

  /** When the last poll answered, whether or not anything changed. */
  get lastPolled(): Date | undefined {
    return this._lastPolled;
  }

  /** The poll, exposed for tests and for views that want to await its next tick. */
  get poll(): Poll {
    return this._poll;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Starts polling (the first tick is immediate). */
  async start(): Promise<void> {
    await this._poll.start();
  }

  /** Polls now, whatever the schedule, and resolves once that poll has finished. */
  async refresh(): Promise<void> {
    // Resolves once a poll that started after this call has ended: one already under way may have
    // listed the sessions before what the caller just did (a submission, a deletion).
    const before = this._ticksStarted;
    while (this._ticksEnded <= before && !this.isDisposed) {
      // An explicit refresh (a click, a submission) runs even while the poll stands by.
      this._forced = true;
      // Lumino folds a refresh into one that is already running: ask again once that one has ended.
      if (this._ticksStarted === before) await this._poll.refresh();
      if (this._ticksEnded <= before) await this._poll.tick.catch(() => undefined);
    }
  }

  /**
   * A view says whether it is visible. While no view is visible and "refresh when hidden" is off, the
   * poll stands by; a view becoming visible gets an immediate refresh.
   */
  setVisible(viewId: string, visible: boolean): void {
    const wasVisible = this._visible.size > 0;
    if (visible) this._visible.add(viewId);
    else this._visible.delete(viewId);
    if (!wasVisible && visible) void this._poll.refresh();
  }

  /** Joins the batch folders (src/batch) to each poll from now on; polls at once if already started. */
  setBatchSource(source: BatchSource): void {
    this._batches = source.batches;
    this._capturedLog = source.capturedLog;
    this._markDeleted = source.markDeleted;
    if (this._state.phase !== 'loading') void this.refresh();
  }

  /** The log saved in a batch folder for a session the platform may have forgotten. */
  async capturedLog(sessionId: string): Promise<string | undefined> {
    return this._capturedLog ? this._capturedLog(sessionId) : undefined;
  }

  updateSettings(settings: ICanfarSettings): void {
    const interval = settings.refreshInterval * 1000;
    const changed = interval !== this._settings.refreshInterval * 1000;
    const wakeUp =
      (settings.refreshWhenHidden && !this._settings.refreshWhenHidden) ||
      (settings.notifications && !this._settings.notifications);
    this._settings = settings;
    if (changed) {
      this._poll.frequency = {
        ...this._poll.frequency,
        interval,
        max: Math.max(this._poll.frequency.max, interval),
      };
    }
    this._settingsChanged.emit(settings);
    if (wakeUp) void this._poll.refresh();
  }

  /** The group with this key in the last poll's answer. */
  findBatch(key: string): BatchGroup | undefined {
    return this._state.grouped.batches.find((group) => group.key === key);
  }

  findSession(id: string): Session | undefined {
    return this._state.sessions.find((session) => session.id === id);
  }

  async deleteSession(id: string): Promise<void> {
    await this._service.delete(id);
    void this._poll.refresh();
  }

  /**
   * Deletes every listed session of a group, a few at a time (each DELETE is a call to the cluster).
   * Resolves with the ids that could not be deleted and why. A recorded batch whose sessions are all
   * deleted is then marked deleted in its batch.json and leaves the panel at once; its folder, logs and
   * outputs stay. When a session could not be deleted it stays, so that the user sees what may still run.
   */
  async deleteBatch(group: BatchGroup): Promise<{ id: string; error: string }[]> {
    const ids = group.replicas.flatMap((row) => (row.session ? [row.session.id] : []));
    const failures: { id: string; error: string }[] = [];
    let next = 0;
    const worker = async () => {
      while (next < ids.length) {
        const id = ids[next++];
        try {
          await this._service.delete(id);
        } catch (error) {
          failures.push({ id, error: describeError(error, this._state.info) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, ids.length) }, worker));
    if (failures.length === 0 && group.manifest && this._markDeleted) {
      try {
        await this._markDeleted(group.key);
        const { grouped } = this._state;
        this._update({
          grouped: { ...grouped, batches: grouped.batches.filter((g) => g.key !== group.key) },
        });
      } catch (error) {
        failures.push({
          id: group.manifest.folder ?? group.key,
          error: `the deletion could not be recorded in its batch.json (${describeError(error, this._state.info)})`,
        });
      }
    }
    void this._poll.refresh();
    return failures;
  }

  dispose(): void {
    if (this.isDisposed) return;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * Polls while a view shows the data (or "refresh when hidden" is on). With no view visible, it still
   * polls once to learn what runs, then while any batch is unfinished when notifications are on (its
   * first failure and its end are notified with the panel closed), and stands by otherwise.
   */
  private _standby(): boolean | 'when-hidden' {
    if (this._forced || this._settings.refreshWhenHidden) return false;
    if (this._visible.size > 0) return 'when-hidden';
    if (this._state.phase === 'loading') return 'when-hidden';
    return this._settings.notifications && this._unfinished ? 'when-hidden' : true;
  }

  private async _tick(): Promise<void> {
    this._forced = false;
    // Polls may overlap (a refresh while one is under way): only the latest one's answer is applied,
    // so an older answer arriving last never replaces a newer one.
    const tick = ++this._ticksStarted;
    const latest = () => tick === this._ticksStarted;
    try {
      if (!this._state.info?.ok) {
        const result = await this._info();
        if (!result.ok) {
          this._update({ info: result.info });
          throw new ProblemError(result.problem);
        }
        this._update({ info: result.info });
      }
      // The work of a poll of 1,000 replicas is split into tasks (parse, batches, grouping, update), so
      // that JupyterLab stays responsive while it runs.
      const sessions = await this._service.list();
      await nextTask();
      const batches = await this._readBatches(sessions);
      await nextTask();
      const stats = await this._maybeStats(sessions);
      const grouped = groupSessions(sessions, batches);
      await nextTask();
      if (!latest()) return;
      this._lastPolled = new Date(this._now());
      this._update({
        ...stats,
        phase: 'ready',
        problem: undefined,
        sessions,
        grouped,
        batchProblem: this._batchProblem,
      });
    } catch (error) {
      if (!latest()) return;
      const problem =
        error instanceof ProblemError ? error.problem : toProblem(error, this._trans, this._state.info);
      this._update({ phase: 'error', problem });
      // Rejecting makes the poll back off.
      throw error;
    } finally {
      this._ticksEnded = Math.max(this._ticksEnded, tick);
    }
  }

  private async _readBatches(sessions: Session[]): Promise<BatchSummary[]> {
    if (!this._batches) return [];
    try {
      const batches = await this._batches(sessions);
      this._batchProblem = undefined;
      return batches;
    } catch (error) {
      // The sessions are still worth showing, grouped by name; the problem is shown beside them.
      this._batchProblem = describeError(error, this._state.info);
      return [];
    }
  }

  private async _maybeStats(sessions: Session[]): Promise<Partial<CanfarState>> {
    const now = this._now();
    this._pollsSinceStats++;
    // The platform's load follows the sessions: when one starts, ends or appears, the stats line would
    // contradict the list below it, so they are fetched again at once.
    const activity = sessions
      .map((s) => `${s.id}:${s.status}`)
      .sort()
      .join(' ');
    const changed = activity !== this._lastActivity;
    this._lastActivity = activity;
    // Nothing shown yet (an earlier poll that fetched them may have been overtaken by a newer one and
    // dropped its result): fetched now.
    const shown = this._state.stats !== undefined || this._state.statsProblem !== undefined;
    if (
      !changed &&
      shown &&
      this._lastStats !== undefined &&
      (now - this._lastStats < this._statsInterval || this._pollsSinceStats < 5)
    ) {
      return {};
    }
    this._lastStats = now;
    this._pollsSinceStats = 0;
    try {
      return { stats: await this._service.stats(), statsProblem: undefined };
    } catch (error) {
      // Stats are decoration: their failure (503 when metrics are down) never fails the poll.
      return { stats: undefined, statsProblem: describeError(error, this._state.info) };
    }
  }

  /**
   * Applies a change: the new state shares every part equal to the current one, and nothing is emitted
   * when all of it is equal (a poll that found nothing new).
   */
  private _update(change: Partial<CanfarState>): void {
    const { updated: _updated, ...current } = this._state;
    const merged: Partial<CanfarState> = { ...current, ...change };
    for (const key of Object.keys(merged) as (keyof CanfarState)[]) {
      // An explicit `undefined` (a problem cleared) and a missing key mean the same.
      if (merged[key] === undefined) delete merged[key];
    }
    const next = shareEqual(current, merged as typeof current);
    if (next === current) return;
    this._state = { ...next, updated: new Date(this._now()) };
    this._unfinished = this._state.grouped.batches.some((group) => !isFinished(group));
    this._stateChanged.emit(this._state);
  }

  private _service: SessionService;
  private _info: () => Promise<InfoResult>;
  private _batches?: (sessions: Session[]) => Promise<BatchSummary[]>;
  private _batchProblem?: string;
  private _capturedLog?: (sessionId: string) => Promise<string | undefined>;
  private _markDeleted?: (batchId: string) => Promise<void>;
  private _settings: ICanfarSettings;
  private _statsInterval: number;
  private _lastActivity?: string;
  private _now: () => number;
  private _trans: TranslationBundle;
  private _lastStats?: number;
  private _lastPolled?: Date;
  private _unfinished = false;
  private _pollsSinceStats = 0;
  private _visible = new Set<string>();
  private _forced = false;
  private _ticksStarted = 0;
  private _ticksEnded = 0;
  private _poll: Poll;
  private _state: CanfarState = { phase: 'loading', sessions: [], grouped: { batches: [], others: [] } };
  private _stateChanged = new Signal<this, CanfarState>(this);
  private _settingsChanged = new Signal<this, ICanfarSettings>(this);
}

/**
 * Resolves in a later task of the event loop: what follows runs after the browser had its turn. A
 * message rather than a timer, which background tabs throttle to a second or more.
 */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof MessageChannel === 'undefined') {
      setTimeout(resolve, 0);
      return;
    }
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

/** A failure already described for the user (the server half's own diagnosis). */
class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

/** One line a user can act on, from whatever a Skaha call threw. */
export function describeError(error: unknown, info?: CanfarInfo): string {
  if (error instanceof SkahaError) {
    return error.hint ? `${error.message} ${error.hint}` : error.message;
  }
  const where = info?.url ? ` (${info.url})` : '';
  return error instanceof Error ? `${error.message}${where}` : `${String(error)}${where}`;
}

function toProblem(error: unknown, trans: TranslationBundle, info?: CanfarInfo): Problem {
  if (error instanceof SkahaError) {
    const url = info?.url || info?.endpoint || trans.__('the CANFAR endpoint');
    if (error.code === 'unauthenticated' || error.code === 'forbidden') {
      return {
        kind: 'unauthenticated',
        message: trans.__(
          '%1 refused the credentials of the server half (%2): %3 Set CANFAR_TOKEN or CANFAR_CERTIFICATE for the Jupyter server, or renew ~/.ssl/cadcproxy.pem, then restart Jupyter.',
          url,
          error.status ?? '',
          error.message,
        ),
      };
    }
    if (error.code === 'transport' || error.code === 'unavailable' || error.code === 'server-error') {
      return {
        kind: 'endpoint-unreachable',
        message: trans.__('Cannot use %1: %2', url, describeError(error)),
      };
    }
  }
  return { kind: 'other', message: describeError(error, info) };
}
