import type { Session, SessionStatus, SkahaClient } from '../skaha';
import { imagePullError, summarizeFailure } from './logs';
import type { FailureSummary } from './logs';
import { MANIFEST_FILE, ManifestWriter, logPath, readManifest, readStatusFile } from './manifest';
import type { BatchStore } from './store';
import { entryVersion, isNotFound, joinPath } from './store';
import type { BatchManifest, ReplicaRecord, ReplicaStatusFile } from './types';

/**
 * - `launching`: not launched yet (the launch is under way, or it waits for the canary);
 * - `launch-failed`: the platform refused or never answered the POST (counted as failed);
 * - `cancelled`: never sent (submission stopped, or the canary failed);
 * - `queued`: Pending and never started (no startTime, no status file): waiting in the platform's queue;
 * - `requeued`: Pending again after an attempt started (preempted: CANFAR runs it again from the start);
 * - `pending`: admitted, starting (Pending with a startTime); `pull-error`: its events say the image
 *   cannot be pulled;
 * - `output-missing`: exit 0, but an expected output is absent (counted as failed);
 * - `lost`: the session is gone and left no exit status (counted as failed).
 */
export type ReplicaState =
  | 'launching'
  | 'launch-failed'
  | 'cancelled'
  | 'queued'
  | 'requeued'
  | 'pending'
  | 'pull-error'
  | 'running'
  | 'completed'
  | 'output-missing'
  | 'failed'
  | 'lost';

export const TERMINAL_STATES: ReadonlySet<ReplicaState> = new Set([
  'launch-failed',
  'cancelled',
  'completed',
  'output-missing',
  'failed',
  'lost',
]);

/** Final outcomes that are not a success: they skip the combine and are what "re-run failed" runs again. */
export const UNSUCCESSFUL_STATES: ReadonlySet<ReplicaState> = new Set([
  'launch-failed',
  'cancelled',
  'output-missing',
  'failed',
  'lost',
]);

export interface ReplicaView {
  replica: number;
  name: string;
  sessionId?: string;
  state: ReplicaState;
  /** The session's status in this poll's list, when listed. */
  sessionStatus?: SessionStatus;
  /** Finished, and the platform has deleted the session since (its files in the batch folder remain). */
  cleanedUp: boolean;
  exitCode?: number;
  signal?: string;
  host?: string;
  start?: string;
  end?: string;
  durationSeconds?: number;
  /** The attempt its status file reports (2 and more: preempted and run again, or re-run failed). */
  attempt?: number;
  /** In a sweep: its parameter set, its shard, and the set's values (text). */
  set?: number;
  shard?: number;
  params?: Record<string, string>;
  /** Expected outputs it did not write (state `output-missing`). */
  outputsMissing?: string[];
  /** Why: launch failure, image pull error, lost session, queue. */
  message?: string;
  /** For failed replicas: the cell and error read from its log (its last attempt). */
  failure?: FailureSummary;
}

export interface BatchCounts {
  total: number;
  launching: number;
  /** Waiting in the platform's queue (never started). */
  queued: number;
  /** Preempted, waiting to run again. */
  requeued: number;
  /** Admitted, starting (pull errors included). */
  pending: number;
  running: number;
  completed: number;
  /** Every unsuccessful final outcome: failed, lost, launch failures, output missing. */
  failed: number;
  /** Of `failed`: exit 0 without an expected output. */
  outputMissing: number;
  cancelled: number;
  cleanedUp: number;
  pullErrors: number;
}

/**
 * - `launching`: replicas are being launched; `canary`: replica 1 runs alone, the others wait for it;
 * - `running`: some replica has not finished; `combining`: every replica completed, the combine step
 *   has not (it waits for its runner or runs);
 * - `done`: everything finished; `stopped`: the canary failed, nothing else was launched.
 */
export type BatchPhase = 'launching' | 'canary' | 'running' | 'combining' | 'done' | 'stopped';

/** The combine step, from status/combine.json (and the replicas' outcomes while it has not started). */
export interface CombineView {
  state: 'waiting' | 'running' | 'completed' | 'failed' | 'interrupted' | 'skipped';
  /** The replica that ran it (absent when a session of its own re-ran it: `session`). */
  replica?: number;
  /** The session launched by "re-run combine" for this attempt. */
  session?: string;
  attempt?: number;
  start?: string;
  end?: string;
  exitCode?: number;
  /** Relative to the batch folder. */
  log: 'logs/combine.log';
  message?: string;
}

export interface BatchView {
  batchId: string;
  name: string;
  folder: string;
  manifest: BatchManifest;
  counts: BatchCounts;
  phase: BatchPhase;
  /** Present when the batch has a combine step. */
  combine?: CombineView;
  /** Every replica is terminal, and the combine too (phase `done` or `stopped`). */
  done: boolean;
  replicas: ReplicaView[];
}

export interface MonitorOptions {
  client: SkahaClient;
  store: BatchStore;
  /** Save the platform log and events of each finished replica into its batch folder (default true). */
  capture?: boolean;
  /** How often a starting replica's events are checked for image pull errors (default 30 s). */
  pullCheckSeconds?: number;
  /** At most this many event checks per poll, so that one poll stays cheap (default 8). */
  maxEventChecksPerPoll?: number;
  /** How long after launch a session may still be missing from the list (default 120 s). */
  listGraceSeconds?: number;
  /** At most this many status files read at once (default 8). */
  readConcurrency?: number;
  now?: () => Date;
}

interface Tracked {
  folder: string;
  writer: ManifestWriter;
  /**
   * With a store that lists entries with their versions: every status file read (replicas' and
   * combine.json), by file name, with the version (modification time and size) it was read at. A file
   * is read again only when its entry changes.
   */
  statusFiles: Map<string, { version: string; status?: ReplicaStatusFile }>;
  /** batch.json's version when last taken (with such a store): not read again while it stays the same. */
  manifestVersion?: string;
  /**
   * Without such a store: final status files, by replica, once the platform too says the session ended
   * (for that session); every other status file is read at every poll.
   */
  finalStatus: Map<number, { sessionId?: string; status: ReplicaStatusFile }>;
  /** Failure summaries read from the logs, with the outcome they were read for (see `failure`). */
  failures: Map<number, { key: string; captured: boolean; summary?: FailureSummary }>;
  /** Sessions seen Running (a later Pending is a requeue). */
  started: Set<string>;
  /** No longer followed (see `release`): a poll still under way writes nothing more into batch.json. */
  released?: boolean;
}

const ENDED: ReadonlySet<string> = new Set(['Completed', 'Failed', 'Error']);

const seconds = (from?: string, to?: string) => {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : undefined;
};

/** The outcome a status file reports, when final: completed, output missing, or failed. */
function finalState(status: ReplicaStatusFile | undefined): ReplicaState | undefined {
  // A file without a state (hand-written, or from an older writer) counts as finished when it has an exit code.
  if (!status || (status.state ?? 'finished') !== 'finished' || typeof status.exitCode !== 'number')
    return undefined;
  if (status.exitCode !== 0) return 'failed';
  return status.outputsMissing && status.outputsMissing.length > 0 ? 'output-missing' : 'completed';
}

async function limited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]);
  });
  await Promise.all(workers);
}

/**
 * Watches batches with ONE `GET /session?type=headless` per poll for all of them, joined with the
 * manifests (by session id, else by name) and the replicas' own status files. When a replica turns
 * terminal, its platform log and events are saved once into the batch folder
 * (`logs/replica-<i>.platform.log`, `logs/replica-<i>.events.txt`), since the platform deletes them an hour
 * later. A replica missing from the list after a terminal state is "cleaned up", not failed; its exit
 * code comes from its status file when there is one. A replica's final outcome is its last attempt's: an
 * interrupted attempt (preemption) is not one. Events are asked only for sessions that have a pod (a
 * startTime): a queued session has none.
 */
export class BatchMonitor {
  private readonly batches = new Map<string, Tracked>();
  private readonly lastEventCheck = new Map<string, number>();
  private readonly pullErrors = new Map<string, string>();
  private readonly options: Required<Omit<MonitorOptions, 'client' | 'store'>>;

  constructor(private readonly init: MonitorOptions) {
    this.options = {
      capture: init.capture ?? true,
      pullCheckSeconds: init.pullCheckSeconds ?? 30,
      maxEventChecksPerPoll: init.maxEventChecksPerPoll ?? 8,
      listGraceSeconds: init.listGraceSeconds ?? 120,
      readConcurrency: Math.max(1, init.readConcurrency ?? 8),
      now: init.now ?? (() => new Date()),
    };
  }

  /** Follows a batch; `manifest` defaults to the folder's batch.json; `writer` shares the submitter's. */
  async add(folder: string, manifest?: BatchManifest, writer?: ManifestWriter): Promise<void> {
    const current = writer?.current ?? manifest ?? (await readManifest(this.init.store, folder));
    this.batches.set(current.batchId, {
      folder,
      writer: writer ?? new ManifestWriter(this.init.store, folder, current, 'observer'),
      statusFiles: new Map(),
      finalStatus: new Map(),
      failures: new Map(),
      started: new Set(),
    });
  }

  remove(batchId: string): void {
    this.batches.delete(batchId);
  }

  /** Forgets what was cached of a batch's replicas (after they were launched again in the same folder). */
  reset(batchId: string): void {
    const tracked = this.batches.get(batchId);
    if (!tracked) return;
    tracked.finalStatus.clear();
    tracked.failures.clear();
    tracked.manifestVersion = undefined;
  }

  /**
   * Stops following a batch and resolves once its pending manifest writes are done, so that someone
   * else (e.g. `markBatchDeleted`) can then change batch.json without a late write of ours undoing it.
   */
  async release(batchId: string): Promise<void> {
    const tracked = this.batches.get(batchId);
    this.batches.delete(batchId);
    if (!tracked) return;
    tracked.released = true;
    await tracked.writer.flush().catch(() => undefined);
  }

  /** One poll of every batch followed. */
  async poll(signal?: AbortSignal): Promise<BatchView[]> {
    const sessions = this.batches.size > 0 ? await this.init.client.list({ type: 'headless' }) : [];
    signal?.throwIfAborted();
    const byId = new Map(sessions.map((session) => [session.id, session]));
    const byName = new Map<string, Session[]>();
    for (const session of sessions) {
      const key = session.name.toLowerCase();
      byName.set(key, [...(byName.get(key) ?? []), session]);
    }
    const eventBudget = { left: this.options.maxEventChecksPerPoll };
    const views: BatchView[] = [];
    for (const tracked of this.batches.values())
      views.push(await this.view(tracked, byId, byName, eventBudget));
    return views;
  }

  /** Waits for the pending manifest writes. */
  async flush(): Promise<void> {
    await Promise.all([...this.batches.values()].map((tracked) => tracked.writer.flush()));
  }

  private async view(
    tracked: Tracked,
    byId: Map<string, Session>,
    byName: Map<string, Session[]>,
    eventBudget: { left: number },
  ): Promise<BatchView> {
    // Another process may be launching (a submission, a canary's continuation, re-run failed in the same
    // folder, also after the batch looked done): an observer takes the launch records written so far.
    if (tracked.writer.role === 'observer') await this.refreshManifest(tracked);
    const manifest = tracked.writer.current;
    const now = this.options.now();
    const replicas: ReplicaView[] = [];
    const toCapture: { replica: number; session: Session }[] = [];
    const observedChanges: { replica: number; status: string; started: boolean }[] = [];

    const sessions = manifest.replicas.map((record) => {
      const launch = record.launch;
      const sessionId = launch?.state === 'launched' ? launch.sessionId : undefined;
      // By id; else (launch not yet recorded) by name, if the session started after the batch was submitted.
      const session =
        (sessionId ? byId.get(sessionId) : undefined) ??
        (sessionId || launch
          ? undefined
          : byName
              .get(record.name)
              ?.find(
                (s) => !s.startTime || s.startTime.getTime() >= Date.parse(manifest.submittedAt) - 60_000,
              ));
      return { record, sessionId, session, current: sessionId ?? session?.id };
    });
    const statuses = await this.statusFiles(tracked, sessions);

    for (const { record, sessionId, session } of sessions) {
      const status = statuses.get(record.replica);
      if (session?.status === 'Running') tracked.started.add(session.id);
      const view = this.replicaView(record, manifest, session, sessionId, status, tracked, now);
      if (session) {
        const started = tracked.started.has(session.id);
        if (record.observed?.status !== session.status || (started && !record.observed?.started))
          observedChanges.push({ replica: record.replica, status: session.status, started });
        // Captured once the platform itself says the session ended, so the log is complete.
        if (ENDED.has(session.status) && this.options.capture && !record.observed?.captured)
          toCapture.push({ replica: record.replica, session });
        // Events only for a session with a pod: a queued one has none (its events are a 404).
        if (
          session.status === 'Pending' &&
          session.startTime &&
          (view.state === 'pending' || view.state === 'pull-error')
        )
          await this.checkPull(view, session, eventBudget, now);
      }
      if (view.start) {
        const duration = seconds(
          view.start,
          view.end ?? (TERMINAL_STATES.has(view.state) ? undefined : now.toISOString()),
        );
        if (duration !== undefined) view.durationSeconds = duration;
      }
      if (view.state === 'failed' || view.state === 'lost') {
        const failure = await this.failure(tracked, record, view, status);
        if (failure) view.failure = failure;
      }
      replicas.push(view);
    }

    // What this poll records in batch.json goes in one write (the file grows with the replicas: about
    // 200 bytes each).
    const changes: ((m: BatchManifest) => void)[] = [];
    if (observedChanges.length > 0)
      changes.push((m) => {
        for (const change of observedChanges) {
          const entry = m.replicas.find((r) => r.replica === change.replica);
          if (entry)
            entry.observed = {
              ...entry.observed,
              status: change.status,
              ...(change.started ? { started: true } : {}),
              at: now.toISOString(),
            };
        }
      });
    const captured = toCapture.length > 0 ? await this.capture(tracked, toCapture) : undefined;
    if (captured) changes.push(captured);

    const counts = countReplicas(replicas);
    const combine = manifest.combine
      ? this.combineView(replicas, statuses.get('combine'), manifest.combine.rerun, byId)
      : undefined;
    // batch.json records how the combine ended (its status file is the source; the record travels with
    // the manifest).
    const ended = combine && ['completed', 'failed', 'interrupted'].includes(combine.state);
    if (ended && manifest.combine && !tracked.released) {
      const outcome = {
        state: combine.state,
        ...(combine.replica !== undefined ? { replica: combine.replica } : {}),
        ...(combine.exitCode !== undefined ? { exitCode: combine.exitCode } : {}),
        ...(combine.end ? { end: combine.end } : {}),
      };
      const recorded = manifest.combine.outcome;
      if (!recorded || recorded.state !== outcome.state || recorded.end !== outcome.end)
        changes.push((m) => {
          if (m.combine) m.combine.outcome = { ...outcome, at: now.toISOString() };
        });
    }
    if (changes.length > 0 && !tracked.released) {
      const written = tracked.writer
        .update((m) => {
          for (const change of changes) change(m);
        })
        .catch(() => undefined);
      // A capture is on record in batch.json when the poll that made it resolves.
      if (captured) await written;
    }
    const phase = batchPhase(manifest, replicas, combine);
    // Done once the platform agrees too (a replica's status file can say "finished" a moment before its
    // session does, and the combine runs in the last replica's session), so that the poll that reports
    // it done has also captured its log.
    const done =
      (phase === 'done' || phase === 'stopped') &&
      replicas.every((view) => !view.sessionStatus || ENDED.has(view.sessionStatus));
    return {
      batchId: manifest.batchId,
      name: manifest.name,
      folder: tracked.folder,
      manifest,
      counts,
      phase,
      ...(combine ? { combine } : {}),
      done,
      replicas,
    };
  }

  /** One replica's state from its launch record, its session in this poll's list and its status file. */
  private replicaView(
    record: ReplicaRecord,
    manifest: BatchManifest,
    session: Session | undefined,
    sessionId: string | undefined,
    status: ReplicaStatusFile | undefined,
    tracked: Tracked,
    now: Date,
  ): ReplicaView {
    const launch = record.launch;
    const set = record.set;
    const view: ReplicaView = {
      replica: record.replica,
      name: record.name,
      state: 'launching',
      cleanedUp: false,
      ...(set !== undefined ? { set, shard: record.shard, params: manifest.sweep?.sets[set - 1] ?? {} } : {}),
    };
    if (status) {
      Object.assign(view, {
        ...(status.host ? { host: status.host } : {}),
        ...(status.start ? { start: status.start } : {}),
        ...(status.end && status.state !== 'running' ? { end: status.end } : {}),
        ...(typeof status.exitCode === 'number' && (status.state ?? 'finished') === 'finished'
          ? { exitCode: status.exitCode }
          : {}),
        ...(status.signal ? { signal: status.signal } : {}),
        ...(status.outputsMissing?.length ? { outputsMissing: status.outputsMissing } : {}),
        attempt: status.attempt ?? 1,
      });
    }
    if (launch?.state === 'failed')
      return Object.assign(view, { state: 'launch-failed', message: `${launch.code}: ${launch.message}` });
    if (launch?.state === 'cancelled')
      return Object.assign(view, { state: 'cancelled', message: launch.message });
    if (session || sessionId) view.sessionId = session?.id ?? sessionId;
    const final = finalState(status);
    const missing = () =>
      final === 'output-missing'
        ? { message: `exit 0, but expected output(s) missing: ${status!.outputsMissing!.join(', ')}` }
        : {};

    if (session) {
      view.sessionStatus = session.status;
      if (!view.start && session.startTime && session.status !== 'Pending')
        view.start = session.startTime.toISOString();
      if (session.status === 'Pending') {
        if (!session.startTime) {
          // No pod: waiting for admission, for the first time or again after a preemption.
          const again =
            Boolean(status) || tracked.started.has(session.id) || record.observed?.started === true;
          return Object.assign(
            view,
            again
              ? {
                  state: 'requeued',
                  message: `preempted${status ? ` after attempt ${status.attempt ?? 1}` : ''}: waiting in the platform's queue to run again from the start`,
                }
              : {
                  state: 'queued',
                  message:
                    "waiting in the platform's queue (CANFAR queues headless work behind interactive sessions)",
                },
          );
        }
        return Object.assign(view, { state: final ?? 'pending', ...missing() });
      }
      if (final) return Object.assign(view, { state: final, ...missing() });
      if (ENDED.has(session.status)) {
        if (status?.state === 'interrupted')
          return Object.assign(view, {
            state: 'failed',
            message: `stopped by SIG${status.signal ?? 'TERM'} (attempt ${status.attempt ?? 1}) and not run again`,
          });
        if (session.status === 'Completed') return Object.assign(view, { state: 'completed' });
        return Object.assign(view, {
          state: 'failed',
          message: 'the session failed before run.sh recorded an exit code',
        });
      }
      return Object.assign(view, { state: 'running' });
    }
    if (sessionId) {
      const seen = record.observed?.status;
      if (final) return Object.assign(view, { state: final, cleanedUp: true, ...missing() });
      if (seen === 'Completed' || seen === 'Failed' || seen === 'Error')
        return Object.assign(view, {
          state: seen === 'Completed' ? 'completed' : 'failed',
          cleanedUp: true,
          ...(status?.state === 'interrupted' ? { message: `stopped by SIG${status.signal ?? 'TERM'}` } : {}),
        });
      if (
        launch?.state === 'launched' &&
        now.getTime() - Date.parse(launch.at) < this.options.listGraceSeconds * 1000
      )
        return Object.assign(view, { state: 'pending' });
      return Object.assign(view, {
        state: status?.state === 'interrupted' ? 'failed' : 'lost',
        cleanedUp: true,
        message:
          status?.state === 'interrupted'
            ? `stopped by SIG${status.signal ?? 'TERM'} (attempt ${status.attempt ?? 1}) and its session is gone (deleted?)`
            : `session ${sessionId} is gone and left no exit status in status/replica-${record.replica}.json`,
      });
    }
    if (manifest.canary?.state === 'waiting' && record.replica !== manifest.canary.replica)
      return Object.assign(view, {
        state: 'launching',
        message: `waits for the canary (replica ${manifest.canary.replica})`,
      });
    if (manifest.launch.state === 'launching' || manifest.launch.state === 'planned') return view;
    return Object.assign(view, {
      state: 'lost',
      message: 'no launch outcome was recorded and no session has this name',
    });
  }

  /**
   * Takes the launch records of batch.json, when it changed since they were last taken (a store that
   * lists entries with their versions tells; others read it at every poll), and never while a launch is
   * under way (its writes may follow each other faster than the modification times tell apart).
   */
  private async refreshManifest(tracked: Tracked): Promise<void> {
    const { store } = this.init;
    let version: string | undefined;
    if (store.listEntries) {
      const entries = await store.listEntries(tracked.folder).catch(() => []);
      const entry = entries.find((e) => e.name === MANIFEST_FILE);
      version = entry ? entryVersion(entry) : undefined;
      const launching = ['planned', 'launching'].includes(tracked.writer.current.launch.state);
      if (version !== undefined && version === tracked.manifestVersion && !launching) return;
    }
    try {
      await tracked.writer.refresh();
      tracked.manifestVersion = version;
    } catch {
      // Unreadable for now (being replaced, or the storage is away): the next poll reads it again.
      tracked.manifestVersion = undefined;
    }
  }

  /**
   * This poll's status files: the replicas' (of their current launch) and the combine's (key 'combine').
   * With a store that lists entries with their versions, one listing of `status/`, and a read only of the
   * files whose entry changed since they were read (run.sh replaces them atomically: a new content is a
   * new modification time or size); otherwise, as before that existed, every status file except final
   * ones. Reads go `readConcurrency` at a time.
   */
  private async statusFiles(
    tracked: Tracked,
    sessions: { record: ReplicaRecord; session?: Session; current?: string }[],
  ): Promise<Map<number | 'combine', ReplicaStatusFile>> {
    const { store } = this.init;
    const folder = joinPath(tracked.folder, 'status');
    const found = new Map<number | 'combine', ReplicaStatusFile>();
    const fileName = (replica: number | 'combine') =>
      replica === 'combine' ? 'combine.json' : `replica-${replica}.json`;
    const wanted: (number | 'combine')[] = [
      ...sessions.map((s) => s.record.replica),
      ...(tracked.writer.current.combine ? ['combine' as const] : []),
    ];
    const toRead: { replica: number | 'combine'; version?: string }[] = [];

    if (store.listEntries) {
      const entries = new Map((await store.listEntries(folder)).map((e) => [e.name, e]));
      for (const name of [...tracked.statusFiles.keys()])
        if (!entries.has(name)) tracked.statusFiles.delete(name);
      for (const replica of wanted) {
        const entry = entries.get(fileName(replica));
        if (!entry || entry.type !== 'file') continue;
        const version = entryVersion(entry);
        const cached = tracked.statusFiles.get(entry.name);
        if (version !== undefined && cached?.version === version) {
          if (cached.status) found.set(replica, cached.status);
        } else toRead.push({ replica, ...(version !== undefined ? { version } : {}) });
      }
      await limited(toRead, this.options.readConcurrency, async ({ replica, version }) => {
        const status = await readStatusFile(store, tracked.folder, replica);
        if (status) found.set(replica, status);
        if (version !== undefined)
          tracked.statusFiles.set(fileName(replica), { version, ...(status ? { status } : {}) });
      });
    } else {
      const names = new Set(await store.list(folder));
      for (const { record, current } of sessions) {
        const cached = tracked.finalStatus.get(record.replica);
        if (cached && cached.sessionId === current) found.set(record.replica, cached.status);
        else if (names.has(fileName(record.replica))) toRead.push({ replica: record.replica });
      }
      if (tracked.writer.current.combine && names.has('combine.json')) toRead.push({ replica: 'combine' });
      await limited(toRead, this.options.readConcurrency, async ({ replica }) => {
        const status = await readStatusFile(store, tracked.folder, replica);
        if (status) found.set(replica, status);
      });
    }

    for (const { record, session, current } of sessions) {
      let status = found.get(record.replica);
      // A status file of an earlier launch (re-run failed in the same folder) says nothing of this one.
      if (status?.sessionId && current && status.sessionId !== current) status = undefined;
      if (status) found.set(record.replica, status);
      else found.delete(record.replica);
      // Final once the platform too says the session ended: kept, not read again (for this session).
      if (!store.listEntries && status?.state === 'finished' && (!session || ENDED.has(session.status)))
        tracked.finalStatus.set(record.replica, { sessionId: current, status });
    }
    return found;
  }

  /** The combine step: its status file, else waiting for the replicas, or skipped when one failed. */
  private combineView(
    replicas: ReplicaView[],
    status: ReplicaStatusFile | undefined,
    launched: { attempt: number; sessionId?: string } | undefined,
    byId: Map<string, Session>,
  ): CombineView {
    const log = 'logs/combine.log' as const;
    // A session launched to run the combine again, for an attempt its status file has not reached yet.
    const rerun = launched?.sessionId
      ? { attempt: launched.attempt, sessionId: launched.sessionId }
      : undefined;
    const rerunSession = rerun ? byId.get(rerun.sessionId) : undefined;
    if (rerun && (status?.attempt ?? 0) < rerun.attempt) {
      const common = { log, attempt: rerun.attempt, session: rerun.sessionId };
      if (rerunSession && ENDED.has(rerunSession.status))
        return {
          ...common,
          state: 'failed',
          message: `its session ${rerun.sessionId} ended (${rerunSession.status}) before the combine started`,
        };
      return { ...common, state: 'waiting', message: `re-run launched in session ${rerun.sessionId}` };
    }
    if (status) {
      const common = {
        log,
        ...(typeof status.runBy === 'number' ? { replica: status.runBy } : {}),
        ...(status.runBy === 'session' && rerun ? { session: rerun.sessionId } : {}),
        ...(status.attempt ? { attempt: status.attempt } : {}),
        ...(status.start ? { start: status.start } : {}),
        ...(status.end ? { end: status.end } : {}),
        ...(typeof status.exitCode === 'number' ? { exitCode: status.exitCode } : {}),
      };
      // Who runs it: a replica, or the session of a re-run. Once that session has ended, nothing will run
      // (or finish) this attempt: a combine recorded running or interrupted then is a failed one.
      const bySession = status.runBy === 'session' && rerun !== undefined;
      const runner = bySession ? undefined : replicas.find((r) => r.replica === status.runBy);
      const runnerEnded = bySession
        ? Boolean(rerunSession && ENDED.has(rerunSession.status))
        : Boolean(runner && (runner.cleanedUp || (runner.sessionStatus && ENDED.has(runner.sessionStatus))));
      const who = bySession ? `its session ${rerun!.sessionId}` : `replica ${status.runBy}`;
      if (status.state === 'running')
        return runnerEnded
          ? { ...common, state: 'failed', message: `${who} ended while running the combine` }
          : { ...common, state: 'running' };
      if (status.state === 'interrupted') {
        const stopped = `stopped by SIG${status.signal ?? 'TERM'}`;
        return runnerEnded
          ? { ...common, state: 'failed', message: `${stopped}, and ${who} ended: nothing runs it again` }
          : { ...common, state: 'interrupted', message: stopped };
      }
      return { ...common, state: status.exitCode === 0 ? 'completed' : 'failed' };
    }
    const unsuccessful = replicas.filter((r) => UNSUCCESSFUL_STATES.has(r.state));
    if (unsuccessful.length > 0)
      return {
        state: 'skipped',
        log,
        message: `not run: ${unsuccessful.length} replica(s) did not complete (${unsuccessful
          .slice(0, 3)
          .map((r) => `${r.replica} ${r.state}`)
          .join(', ')}${unsuccessful.length > 3 ? ', ...' : ''}); re-run failed replicas to run it`,
      };
    if (
      replicas.every(
        (r) => r.state === 'completed' && (r.cleanedUp || !r.sessionStatus || ENDED.has(r.sessionStatus)),
      )
    )
      return { state: 'failed', log, message: 'every replica completed but none started the combine' };
    return { state: 'waiting', log };
  }

  private async checkPull(
    view: ReplicaView,
    session: Session,
    budget: { left: number },
    now: Date,
  ): Promise<void> {
    const known = this.pullErrors.get(session.id);
    const last = this.lastEventCheck.get(session.id) ?? 0;
    if (!known && budget.left > 0 && now.getTime() - last >= this.options.pullCheckSeconds * 1000) {
      budget.left -= 1;
      this.lastEventCheck.set(session.id, now.getTime());
      try {
        const message = imagePullError(await this.init.client.events(session.id));
        if (message) this.pullErrors.set(session.id, message);
      } catch {
        // Events unavailable: look again at the next check.
      }
    }
    const message = this.pullErrors.get(session.id);
    if (message) Object.assign(view, { state: 'pull-error', message });
  }

  /**
   * The cell and error of a failed replica, from its log (else the platform's log captured into the
   * folder). Read once per outcome, also when no log was found: again only for a new outcome (another
   * session or attempt, a status file written since), or, when no log was found, once the platform's log
   * has been captured.
   */
  private async failure(
    tracked: Tracked,
    record: ReplicaRecord,
    view: ReplicaView,
    status: ReplicaStatusFile | undefined,
  ): Promise<FailureSummary | undefined> {
    const replica = record.replica;
    const key = JSON.stringify([view.state, view.sessionId, status?.attempt, status?.state, status?.end]);
    const captured = Boolean(record.observed?.captured?.log);
    const cached = tracked.failures.get(replica);
    if (cached?.key === key && (cached.summary || cached.captured === captured)) return cached.summary;
    let log: string | undefined;
    for (const path of [
      logPath(tracked.folder, replica),
      joinPath(tracked.folder, 'logs', `replica-${replica}.platform.log`),
    ]) {
      try {
        log = await this.init.store.readText(path);
        break;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    if (log === undefined) {
      tracked.failures.set(replica, { key, captured });
      return undefined;
    }
    // The last attempt is the one that counts.
    const marker = log.lastIndexOf('==== canfar: attempt ');
    const summary = summarizeFailure(marker >= 0 ? log.slice(marker) : log);
    tracked.failures.set(replica, { key, captured, summary });
    return summary;
  }

  /**
   * Saves the platform's log and events of finished replicas, once each; resolves with the change that
   * records them in batch.json.
   */
  private async capture(
    tracked: Tracked,
    items: { replica: number; session: Session }[],
  ): Promise<(m: BatchManifest) => void> {
    const { client, store } = this.init;
    const captured: { replica: number; log?: string; events?: string }[] = [];
    await limited(items, 8, async ({ replica, session }) => {
      const logFile = joinPath('logs', `replica-${replica}.platform.log`);
      const eventsFile = joinPath('logs', `replica-${replica}.events.txt`);
      const entry: { replica: number; log?: string; events?: string } = { replica };
      try {
        await store.writeTextAtomic(joinPath(tracked.folder, logFile), await client.logs(session.id));
        entry.log = logFile;
      } catch {
        // Logs unavailable (already cleaned up): the replica's own log remains.
      }
      try {
        await store.writeTextAtomic(
          joinPath(tracked.folder, eventsFile),
          await client.eventsText(session.id),
        );
        entry.events = eventsFile;
      } catch {
        // Events are 404 once the pod is gone.
      }
      captured.push(entry);
    });
    const at = this.options.now().toISOString();
    return (m) => {
      for (const entry of captured) {
        const record = m.replicas.find((r) => r.replica === entry.replica);
        if (record) {
          record.observed = {
            ...record.observed,
            captured: {
              ...(entry.log ? { log: entry.log } : {}),
              ...(entry.events ? { events: entry.events } : {}),
              at,
            },
          };
        }
      }
    };
  }
}

/** Who ran (or runs) the combine: "replica 4", "session abc (re-run)", or undefined before it started. */
export function combineRunner(combine: CombineView): string | undefined {
  if (combine.replica !== undefined) return `replica ${combine.replica}`;
  return combine.session ? `session ${combine.session} (re-run)` : undefined;
}

/**
 * How a replica ended, in a phrase: `failed with exit code 1 in cell 3: ZeroDivisionError: ...`, `was not
 * launched: ...`, `completed, output missing: results/part-3.json`.
 */
export function describeOutcome(replica: ReplicaView): string {
  switch (replica.state) {
    case 'launch-failed':
      return `was not launched: ${replica.message}`;
    case 'cancelled':
      return `was not launched (${replica.message ?? 'cancelled'})`;
    case 'pull-error':
      return `cannot start: ${replica.message}`;
    case 'completed':
      return 'completed';
    case 'output-missing':
      return `completed, output missing: ${(replica.outputsMissing ?? []).join(', ')}`;
    case 'failed':
    case 'lost': {
      const parts = [
        replica.exitCode !== undefined
          ? `failed with exit code ${replica.exitCode}${replica.signal ? ` (SIG${replica.signal})` : ''}`
          : replica.state === 'lost'
            ? 'was lost'
            : 'failed',
      ];
      if (replica.failure?.cell !== undefined) parts.push(`in cell ${replica.failure.cell}`);
      const why = replica.failure?.error ?? replica.message;
      return `${parts.join(' ')}${why ? `: ${why}` : ''}`;
    }
    default:
      return replica.state + (replica.message ? ` (${replica.message})` : '');
  }
}

/** k/N per state (`failed` counts every unsuccessful final outcome, `outputMissing` among them). */
export function countReplicas(replicas: readonly ReplicaView[]): BatchCounts {
  const counts: BatchCounts = {
    total: replicas.length,
    launching: 0,
    queued: 0,
    requeued: 0,
    pending: 0,
    running: 0,
    completed: 0,
    failed: 0,
    outputMissing: 0,
    cancelled: 0,
    cleanedUp: 0,
    pullErrors: 0,
  };
  for (const view of replicas) {
    if (view.cleanedUp) counts.cleanedUp += 1;
    switch (view.state) {
      case 'launching':
      case 'queued':
      case 'requeued':
      case 'pending':
      case 'running':
      case 'completed':
      case 'cancelled':
        counts[view.state] += 1;
        break;
      case 'pull-error':
        counts.pending += 1;
        counts.pullErrors += 1;
        break;
      case 'output-missing':
        counts.outputMissing += 1;
        counts.failed += 1;
        break;
      default:
        counts.failed += 1;
    }
  }
  return counts;
}

/** Where the batch stands as a whole (see BatchPhase). */
export function batchPhase(
  manifest: BatchManifest,
  replicas: readonly ReplicaView[],
  combine: CombineView | undefined,
): BatchPhase {
  if (manifest.launch.state === 'planned' || manifest.launch.state === 'launching') return 'launching';
  if (manifest.canary?.state === 'waiting') return 'canary';
  if (manifest.canary?.state === 'failed') return 'stopped';
  if (!replicas.every((r) => TERMINAL_STATES.has(r.state))) return 'running';
  if (combine && (combine.state === 'waiting' || combine.state === 'running')) return 'combining';
  return 'done';
}

/** One poll of the given batches (folders relative to the store), with a throw-away monitor. */
export async function pollBatches(
  client: SkahaClient,
  store: BatchStore,
  folders: string[],
  options: Omit<MonitorOptions, 'client' | 'store'> = {},
): Promise<BatchView[]> {
  const monitor = new BatchMonitor({ client, store, ...options });
  for (const folder of folders) await monitor.add(folder);
  const views = await monitor.poll();
  await monitor.flush();
  return views;
}
