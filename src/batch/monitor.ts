import type { Session, SessionStatus, SkahaClient } from '../skaha';
import { imagePullError, summarizeFailure } from './logs';
import type { FailureSummary } from './logs';
import { ManifestWriter, logPath, readManifest, readStatusFile } from './manifest';
import type { BatchStore } from './store';
import { isNotFound, joinPath } from './store';
import type { BatchManifest, ReplicaStatusFile } from './types';

/**
 * - `launch-failed`: the platform refused or never answered the POST (counted as failed);
 * - `cancelled`: never sent (submission stopped);
 * - `pull-error`: Pending, and its events say the image cannot be pulled;
 * - `lost`: the session is gone and left no exit status (counted as failed).
 */
export type ReplicaState =
  | 'launching'
  | 'launch-failed'
  | 'cancelled'
  | 'pending'
  | 'pull-error'
  | 'running'
  | 'completed'
  | 'failed'
  | 'lost';

export const TERMINAL_STATES: ReadonlySet<ReplicaState> = new Set([
  'launch-failed',
  'cancelled',
  'completed',
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
  /** Why: launch failure, image pull error, lost session. */
  message?: string;
  /** For failed replicas: the cell and error read from its log. */
  failure?: FailureSummary;
}

export interface BatchCounts {
  total: number;
  launching: number;
  pending: number;
  running: number;
  completed: number;
  failed: number;
  cancelled: number;
  cleanedUp: number;
  pullErrors: number;
}

export interface BatchView {
  batchId: string;
  name: string;
  folder: string;
  manifest: BatchManifest;
  counts: BatchCounts;
  /** Every replica is terminal. */
  done: boolean;
  replicas: ReplicaView[];
}

export interface MonitorOptions {
  client: SkahaClient;
  store: BatchStore;
  /** Save the platform log and events of each finished replica into its batch folder (default true). */
  capture?: boolean;
  /** How often a Pending replica's events are checked for image pull errors (default 30 s). */
  pullCheckSeconds?: number;
  /** At most this many event checks per poll, so that one poll stays cheap (default 8). */
  maxEventChecksPerPoll?: number;
  /** How long after launch a session may still be missing from the list (default 120 s). */
  listGraceSeconds?: number;
  now?: () => Date;
}

interface Tracked {
  folder: string;
  writer: ManifestWriter;
  finalStatus: Map<number, ReplicaStatusFile>;
  failures: Map<number, FailureSummary>;
  /** No longer followed (see `release`): a poll still under way writes nothing more into batch.json. */
  released?: boolean;
}

const sessionState = (status: SessionStatus): ReplicaState => {
  switch (status) {
    case 'Pending':
      return 'pending';
    case 'Completed':
      return 'completed';
    case 'Failed':
    case 'Error':
      return 'failed';
    default:
      return 'running';
  }
};

const seconds = (from?: string, to?: string) => {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) ? Math.max(0, Math.round(ms / 1000)) : undefined;
};

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
 * code comes from its status file when there is one.
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
      now: init.now ?? (() => new Date()),
    };
  }

  /** Follows a batch; `manifest` defaults to the folder's batch.json; `writer` shares the submitter's. */
  async add(folder: string, manifest?: BatchManifest, writer?: ManifestWriter): Promise<void> {
    const current = writer?.current ?? manifest ?? (await readManifest(this.init.store, folder));
    this.batches.set(current.batchId, {
      folder,
      writer: writer ?? new ManifestWriter(this.init.store, folder, current, 'observer'),
      finalStatus: new Map(),
      failures: new Map(),
    });
  }

  remove(batchId: string): void {
    this.batches.delete(batchId);
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
    const { store } = this.init;
    // A batch still being launched (by this process or another): take the launch records written so far.
    if (
      tracked.writer.role === 'observer' &&
      (tracked.writer.current.launch.state === 'launching' ||
        tracked.writer.current.launch.state === 'planned')
    ) {
      await tracked.writer.refresh().catch(() => undefined);
    }
    const manifest = tracked.writer.current;
    const now = this.options.now();
    const statusNames = new Set(await store.list(joinPath(tracked.folder, 'status')));
    const replicas: ReplicaView[] = [];
    const toCapture: { replica: number; session: Session }[] = [];
    const observedChanges: { replica: number; status: string }[] = [];

    for (const record of manifest.replicas) {
      const launch = record.launch;
      let status = tracked.finalStatus.get(record.replica);
      if (!status && statusNames.has(`replica-${record.replica}.json`)) {
        status = await readStatusFile(store, tracked.folder, record.replica);
        if (status?.state === 'finished') tracked.finalStatus.set(record.replica, status);
      }
      const view: ReplicaView = {
        replica: record.replica,
        name: record.name,
        state: 'launching',
        cleanedUp: false,
      };
      if (status) {
        Object.assign(view, {
          ...(status.host ? { host: status.host } : {}),
          ...(status.start ? { start: status.start } : {}),
          ...(status.end ? { end: status.end } : {}),
          ...(typeof status.exitCode === 'number' ? { exitCode: status.exitCode } : {}),
          ...(status.signal ? { signal: status.signal } : {}),
        });
      }

      if (launch?.state === 'failed') {
        Object.assign(view, { state: 'launch-failed', message: `${launch.code}: ${launch.message}` });
      } else if (launch?.state === 'cancelled') {
        Object.assign(view, { state: 'cancelled', message: launch.message });
      } else {
        const sessionId = launch?.state === 'launched' ? launch.sessionId : undefined;
        // By id; else (launch not yet recorded) by name, if the session started after the batch was submitted.
        const session =
          (sessionId ? byId.get(sessionId) : undefined) ??
          (sessionId
            ? undefined
            : byName
                .get(record.name)
                ?.find(
                  (s) => !s.startTime || s.startTime.getTime() >= Date.parse(manifest.submittedAt) - 60_000,
                ));
        if (session || sessionId) view.sessionId = session?.id ?? sessionId;
        const exitKnown = status?.state === 'finished' && typeof status.exitCode === 'number';
        if (session) {
          view.sessionStatus = session.status;
          view.state = exitKnown
            ? status!.exitCode === 0
              ? 'completed'
              : 'failed'
            : sessionState(session.status);
          if (
            !exitKnown &&
            view.state !== 'running' &&
            view.state !== 'pending' &&
            session.status !== 'Terminating'
          ) {
            // Terminal according to the platform, but run.sh left no exit code (killed hard, or never started).
            if (view.state === 'failed')
              view.message = 'the session failed before run.sh recorded an exit code';
          }
          if (!view.start && session.startTime) view.start = session.startTime.toISOString();
          if (record.observed?.status !== session.status)
            observedChanges.push({ replica: record.replica, status: session.status });
          // Captured once the platform itself says the session ended, so the log is complete.
          if (
            TERMINAL_STATES.has(sessionState(session.status)) &&
            this.options.capture &&
            !record.observed?.captured
          ) {
            toCapture.push({ replica: record.replica, session });
          }
          if (session.status === 'Pending') await this.checkPull(view, session, eventBudget, now);
        } else if (sessionId) {
          const seen = record.observed?.status;
          if (exitKnown) {
            view.state = status!.exitCode === 0 ? 'completed' : 'failed';
            view.cleanedUp = true;
          } else if (seen === 'Completed' || seen === 'Failed' || seen === 'Error') {
            view.state = seen === 'Completed' ? 'completed' : 'failed';
            view.cleanedUp = true;
          } else if (
            launch?.state === 'launched' &&
            now.getTime() - Date.parse(launch.at) < this.options.listGraceSeconds * 1000
          ) {
            view.state = 'pending';
          } else {
            view.state = 'lost';
            view.cleanedUp = true;
            view.message = `session ${sessionId} is gone and left no exit status in status/replica-${record.replica}.json`;
          }
        } else {
          view.state =
            manifest.launch.state === 'launching' || manifest.launch.state === 'planned'
              ? 'launching'
              : 'lost';
          if (view.state === 'lost')
            view.message = 'no launch outcome was recorded and no session has this name';
        }
      }
      if (view.start) {
        const duration = seconds(
          view.start,
          view.end ?? (TERMINAL_STATES.has(view.state) ? undefined : now.toISOString()),
        );
        if (duration !== undefined) view.durationSeconds = duration;
      }
      if (view.state === 'failed' || view.state === 'lost')
        view.failure = await this.failure(tracked, record.replica);
      replicas.push(view);
    }

    if (observedChanges.length > 0 && !tracked.released) {
      void tracked.writer
        .update((m) => {
          for (const change of observedChanges) {
            const entry = m.replicas.find((r) => r.replica === change.replica);
            if (entry) entry.observed = { ...entry.observed, status: change.status, at: now.toISOString() };
          }
        })
        .catch(() => undefined);
    }
    if (toCapture.length > 0) await this.capture(tracked, toCapture);

    const counts: BatchCounts = {
      total: replicas.length,
      launching: 0,
      pending: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      cleanedUp: 0,
      pullErrors: 0,
    };
    for (const view of replicas) {
      if (view.cleanedUp) counts.cleanedUp += 1;
      switch (view.state) {
        case 'launching':
          counts.launching += 1;
          break;
        case 'pending':
          counts.pending += 1;
          break;
        case 'pull-error':
          counts.pending += 1;
          counts.pullErrors += 1;
          break;
        case 'running':
          counts.running += 1;
          break;
        case 'completed':
          counts.completed += 1;
          break;
        case 'cancelled':
          counts.cancelled += 1;
          break;
        default:
          counts.failed += 1;
      }
    }
    return {
      batchId: manifest.batchId,
      name: manifest.name,
      folder: tracked.folder,
      manifest,
      counts,
      // Done once the platform agrees too (a replica's status file can say "finished" a moment before its
      // session does), so that the poll that reports it done has also captured its log.
      done:
        manifest.launch.state !== 'launching' &&
        manifest.launch.state !== 'planned' &&
        replicas.every(
          (view) =>
            TERMINAL_STATES.has(view.state) &&
            (!view.sessionStatus || TERMINAL_STATES.has(sessionState(view.sessionStatus))),
        ),
      replicas,
    };
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
        // No pod yet (404) or events unavailable: look again at the next check.
      }
    }
    const message = this.pullErrors.get(session.id);
    if (message) Object.assign(view, { state: 'pull-error', message });
  }

  private async failure(tracked: Tracked, replica: number): Promise<FailureSummary | undefined> {
    const cached = tracked.failures.get(replica);
    if (cached) return cached;
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
    if (log === undefined) return undefined;
    const summary = summarizeFailure(log);
    tracked.failures.set(replica, summary);
    return summary;
  }

  /** Saves the platform's log and events of finished replicas, once each. */
  private async capture(tracked: Tracked, items: { replica: number; session: Session }[]): Promise<void> {
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
    if (tracked.released) return;
    await tracked.writer
      .update((m) => {
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
      })
      .catch(() => undefined);
  }
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
