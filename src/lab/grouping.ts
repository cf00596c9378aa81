/**
 * Turns the flat session list (one `GET /session` per poll) into what the panel shows: batches as groups
 * of replicas with k/N per status, and the other sessions. Pure functions: the model calls them on every
 * poll and the tests drive them directly.
 *
 * The session JSON carries no environment, so a session cannot say which batch it belongs to. Two
 * sources of membership, the first one wins:
 * 1. the batch manifests (`canfar-batches/<id>/batch.json`) list the session id of each replica;
 * 2. otherwise the name: the replicas of a batch are named `<name>-<i>`, so headless sessions sharing a
 *    `<name>` prefix form one group (a lone headless session is a batch of one).
 */
import type { BatchCounts, BatchPhase, CombineView, ReplicaState, SweepRecord } from '../batch';
import type { Session, SessionStatus } from '../skaha';

/** What the panel needs of a batch: src/batch's monitor view (manifest, status files) reduced. */
export interface BatchSummary {
  id: string;
  name: string;
  /** N: the replicas of this batch (a re-run of some replicas has those only; REPLICA_COUNT may be larger). */
  total: number;
  replicas: BatchReplicaSummary[];
  /** The batch folder, relative to the Jupyter server root. */
  folder?: string;
  createdAt?: string;
  /** The script the replicas run, relative to the server root. */
  script?: string;
  /**
   * The user deleted the batch (recorded in its batch.json): it is not shown, and its sessions, while
   * the platform still lists them (Terminating), are not shown as a batch of their own either.
   */
  deletedAt?: string;
  // What the monitor knows beyond the session list (the round's memo, "Lab data"); all optional: a panel
  // shows what is present.
  /** Where the batch stands: launching, canary, running, combining, done, stopped. */
  phase?: BatchPhase;
  /** The combine step (cells tagged `combine`), when the batch has one. */
  combine?: CombineView;
  /** The sweep: swept parameters, the table of sets (text values), shards per set. */
  sweep?: SweepRecord;
  /** Resources as asked (batch.json): absent means flexible. */
  resources?: { cores?: number; ram?: number; gpus?: number };
  /** k/N per monitor state (queued, requeued and output-missing included). */
  counts?: BatchCounts;
}

export interface BatchReplicaSummary {
  index: number;
  name: string;
  sessionId?: string;
  /** What the batch's records say (exit code included), which wins over the session's status. */
  status?: ReplicaStatus;
  exitCode?: number;
  start?: string;
  end?: string;
  /** Why (launch failure, image pull error, failing cell). */
  message?: string;
  /** Finished, and the platform has deleted the session since. */
  cleanedUp?: boolean;
  /** The monitor's state: queued, requeued, output-missing... (`status` is its session-status reduction). */
  state?: ReplicaState;
  /** The attempt its status file reports (2 and more: it ran again after a preemption or a re-run). */
  attempt?: number;
  /** In a sweep: its parameter set and shard, and the set's values (text). */
  set?: number;
  shard?: number;
  params?: Record<string, string>;
  /** Why it failed: the cell (1-based) and the exception from its log, or the monitor's message. */
  failure?: { cell?: number; exception?: string; message?: string };
  durationSeconds?: number;
}

/**
 * `Gone`: no longer (or never) in the session list and nothing else known; `Cancelled`: never launched
 * (the submission was stopped).
 */
export type ReplicaStatus = SessionStatus | 'Gone' | 'Cancelled';

export interface ReplicaRow {
  /** 1-based replica index when known from the manifest or the name. */
  index?: number;
  name: string;
  session?: Session;
  /** The session the replica ran as, also when the platform no longer lists it. */
  sessionId?: string;
  status: ReplicaStatus;
  exitCode?: number;
  start?: Date;
  end?: Date;
  message?: string;
  cleanedUp?: boolean;
}

export interface BatchGroup {
  /** Stable key: the batch id when a manifest is known, else `name:<prefix>`. */
  key: string;
  name: string;
  /** N: from the manifest, else the largest replica index seen (or the count, if larger). */
  total: number;
  replicas: ReplicaRow[];
  counts: Partial<Record<ReplicaStatus, number>>;
  manifest?: BatchSummary;
}

export interface GroupedSessions {
  batches: BatchGroup[];
  others: Session[];
}

const REPLICA_NAME = /^(.+)-(\d+)$/;

/** The order statuses are listed in a summary: what needs attention first. */
export const STATUS_ORDER: ReplicaStatus[] = [
  'Failed',
  'Error',
  'Running',
  'Pending',
  'Terminating',
  'Completed',
  'Unknown',
  'Cancelled',
  'Gone',
];

export const TERMINAL: ReadonlySet<ReplicaStatus> = new Set<ReplicaStatus>([
  'Completed',
  'Failed',
  'Error',
  'Gone',
]);

export function groupSessions(
  sessions: readonly Session[],
  manifests: readonly BatchSummary[] = [],
): GroupedSessions {
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const claimed = new Set<string>();
  const batches: BatchGroup[] = [];

  for (const batch of manifests) {
    if (batch.deletedAt) {
      for (const replica of batch.replicas) if (replica.sessionId) claimed.add(replica.sessionId);
      continue;
    }
    const rows: ReplicaRow[] = batch.replicas.map((replica) => {
      const session = replica.sessionId !== undefined ? byId.get(replica.sessionId) : undefined;
      if (session) claimed.add(session.id);
      return {
        index: replica.index,
        name: session?.name ?? replica.name,
        session,
        sessionId: replica.sessionId,
        status: replica.status ?? session?.status ?? 'Gone',
        exitCode: replica.exitCode,
        start: session?.startTime ?? parseDate(replica.start),
        end: parseDate(replica.end),
        message: replica.message,
        cleanedUp: replica.cleanedUp,
      };
    });
    batches.push(makeGroup(batch.id, batch.name, batch.total, rows, batch));
  }

  const byPrefix = new Map<string, ReplicaRow[]>();
  const others: Session[] = [];
  for (const session of sessions) {
    if (claimed.has(session.id)) continue;
    if (session.type !== 'headless') {
      others.push(session);
      continue;
    }
    const match = REPLICA_NAME.exec(session.name);
    const prefix = match ? match[1] : session.name;
    const rows = byPrefix.get(prefix) ?? [];
    rows.push({
      index: match ? Number(match[2]) : undefined,
      name: session.name,
      session,
      sessionId: session.id,
      status: session.status,
      start: session.startTime,
    });
    byPrefix.set(prefix, rows);
  }
  for (const [prefix, rows] of byPrefix) {
    rows.sort((a, b) => (a.index ?? 0) - (b.index ?? 0) || a.name.localeCompare(b.name));
    const maxIndex = Math.max(0, ...rows.map((r) => r.index ?? 0));
    batches.push(makeGroup(`name:${prefix}`, prefix, Math.max(maxIndex, rows.length), rows));
  }

  batches.sort((a, b) => latestStart(b) - latestStart(a) || a.name.localeCompare(b.name));
  others.sort((a, b) => (b.startTime?.getTime() ?? 0) - (a.startTime?.getTime() ?? 0));
  return { batches, others };
}

function makeGroup(
  key: string,
  name: string,
  total: number,
  replicas: ReplicaRow[],
  manifest?: BatchSummary,
): BatchGroup {
  const counts: Partial<Record<ReplicaStatus, number>> = {};
  for (const row of replicas) counts[row.status] = (counts[row.status] ?? 0) + 1;
  return { key, name, total, replicas, counts, manifest };
}

function latestStart(group: BatchGroup): number {
  let latest = group.manifest?.createdAt ? Date.parse(group.manifest.createdAt) || 0 : 0;
  for (const row of group.replicas) latest = Math.max(latest, row.start?.getTime() ?? 0);
  return latest;
}

function parseDate(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** "2/4 Running · 1/4 Completed · 1/4 Failed": the non-zero counts, most urgent first. */
export function summarize(group: BatchGroup, label: (status: ReplicaStatus) => string = (s) => s): string {
  return STATUS_ORDER.filter((status) => group.counts[status])
    .map((status) => `${group.counts[status]}/${group.total} ${label(status)}`)
    .join(' · ');
}

/** True when no replica of the group can change any more. */
export function isSettled(group: BatchGroup): boolean {
  return group.replicas.every((row) => TERMINAL.has(row.status));
}

/** "1 h 02 min", "3 min 05 s", "12 s": how long a replica ran (or has been running). */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} min`;
  if (m > 0) return `${m} min ${String(sec).padStart(2, '0')} s`;
  return `${sec} s`;
}

/** "2 CPU · 8 GB" from what was requested (fixed) or is in use (flexible), or "flexible". */
export function formatResources(session: Session | undefined): string {
  if (!session) return '';
  const cores = session.requestedCPUCores ?? session.cpuCoresInUse;
  const ram = session.requestedRAM ?? session.ramInUse;
  const parts: string[] = [];
  if (cores !== undefined) parts.push(`${round(cores)} CPU`);
  if (ram !== undefined) parts.push(`${round(ram)} GB`);
  if (session.requestedGPUCores) parts.push(`${session.requestedGPUCores} GPU`);
  if (parts.length === 0) return session.isFixedResources === false ? 'flexible' : '';
  return parts.join(' · ');
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
