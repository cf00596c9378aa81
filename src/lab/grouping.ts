/**
 * Turns the flat session list (one `GET /session` per poll) into what the panel shows: batches as groups
 * of replicas with k/N per status, and the other sessions; and reads a group for the views (what kind
 * each replica is, how many wait in the platform's queue, why they failed, how long is left). Pure
 * functions: the model calls them on every poll and the tests drive them directly.
 *
 * The session JSON carries no environment, so a session cannot say which batch it belongs to. Two
 * sources of membership, the first one wins:
 * 1. the batch manifests (`canfar-batches/<id>/batch.json`) list the session id of each replica;
 * 2. otherwise the name: the replicas of a batch are named `<name>-<i>`, so headless sessions sharing a
 *    `<name>` prefix form one group (a lone headless session is a batch of one).
 */
import { combineSessionName, estimateRemaining, groupFailures } from '../batch';
import type { BatchEta, FailedReplica, FailureGroup } from '../batch';
import type { Session } from '../skaha';
import type {
  BatchGroup,
  BatchSummary,
  GroupedSessions,
  ReplicaRow,
  ReplicaState,
  ReplicaStatus,
} from './tokens';

// The data types are public (tokens.ts); re-exported for the modules that know them from here.
export type {
  BatchGroup,
  BatchReplicaSummary,
  BatchSummary,
  GroupedSessions,
  ReplicaRow,
  ReplicaState,
  ReplicaStatus,
} from './tokens';

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

/** The monitor's states that no longer change (a requeued or interrupted replica runs again). */
const TERMINAL_STATES: ReadonlySet<ReplicaState> = new Set<ReplicaState>([
  'launch-failed',
  'cancelled',
  'completed',
  'output-missing',
  'failed',
  'lost',
]);

/** The status a monitor state shows as where only a status is known (summaries, the Running panel). */
export const STATUS_OF_STATE: Record<ReplicaState, ReplicaStatus> = {
  launching: 'Pending',
  'launch-failed': 'Failed',
  cancelled: 'Cancelled',
  queued: 'Pending',
  requeued: 'Pending',
  pending: 'Pending',
  'pull-error': 'Pending',
  running: 'Running',
  completed: 'Completed',
  // Exit 0 without an expected output: counted as failed (the combine waits, re-run failed runs it).
  'output-missing': 'Failed',
  failed: 'Failed',
  lost: 'Failed',
};

/** Whether `state` is one of the monitor's states (notebook outputs may come from a newer producer). */
export function isReplicaState(state: string): state is ReplicaState {
  return Object.prototype.hasOwnProperty.call(STATUS_OF_STATE, state);
}

export function groupSessions(
  sessions: readonly Session[],
  manifests: readonly BatchSummary[] = [],
): GroupedSessions {
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const claimed = new Set<string>();
  const batches: BatchGroup[] = [];

  // A session that re-runs a batch's combine step belongs to the batch (its combine step shows it), not
  // in a batch of its own.
  const combineSessions = new Map<string, string[]>();
  for (const session of sessions) {
    if (!session.name.endsWith('-combine')) continue;
    const key = session.name.toLowerCase();
    combineSessions.set(key, [...(combineSessions.get(key) ?? []), session.id]);
  }
  for (const batch of manifests) {
    for (const id of combineSessions.get(combineSessionName(batch.name).toLowerCase()) ?? []) claimed.add(id);
    if (batch.deletedAt) {
      for (const replica of batch.replicas) if (replica.sessionId) claimed.add(replica.sessionId);
      continue;
    }
    const rows: ReplicaRow[] = batch.replicas.map((replica) => {
      const session = replica.sessionId !== undefined ? byId.get(replica.sessionId) : undefined;
      if (session) claimed.add(session.id);
      const row: ReplicaRow = {
        index: replica.index,
        name: session?.name ?? replica.name,
        session,
        sessionId: replica.sessionId,
        status:
          replica.status ??
          (replica.state ? STATUS_OF_STATE[replica.state] : undefined) ??
          session?.status ??
          'Gone',
        exitCode: replica.exitCode,
        start: session?.startTime ?? parseDate(replica.start),
        end: parseDate(replica.end),
        message: replica.message,
        cleanedUp: replica.cleanedUp,
      };
      // Optional facts only when known, so that rows compare equal across polls field by field.
      if (replica.state !== undefined) row.state = replica.state;
      // A running replica's duration grows at every poll: the views compute it from its start, so that a
      // poll that finds nothing new leaves the rows equal (and the panel untouched).
      if (replica.durationSeconds !== undefined && replica.end) row.durationSeconds = replica.durationSeconds;
      if (replica.failure !== undefined) row.failure = replica.failure;
      if (replica.attempt !== undefined) row.attempt = replica.attempt;
      if (replica.set !== undefined) row.set = replica.set;
      if (replica.shard !== undefined) row.shard = replica.shard;
      if (replica.params !== undefined) row.params = replica.params;
      return row;
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

/**
 * True when the batch has ended: every replica has its final outcome (not launched counts as one),
 * nothing waits to be launched (canary) and its combine step, if any, is over.
 */
export function isFinished(group: BatchGroup): boolean {
  const phase = group.manifest?.phase;
  if (phase === 'launching' || phase === 'canary' || phase === 'combining') return false;
  const combine = group.manifest?.combine?.state;
  if (combine === 'waiting' || combine === 'running') return phase === 'stopped';
  return group.replicas.every((row) =>
    row.state !== undefined
      ? TERMINAL_STATES.has(row.state)
      : TERMINAL.has(row.status) || row.status === 'Cancelled',
  );
}

/** What a replica is, for colours, counts and filters. */
export type ReplicaKind = 'pending' | 'running' | 'completed' | 'failed' | 'other';

export const KIND_ORDER: ReplicaKind[] = ['completed', 'failed', 'running', 'pending', 'other'];

export function replicaKind(row: Pick<ReplicaRow, 'state' | 'status'>): ReplicaKind {
  switch (row.state) {
    case 'launching':
    case 'queued':
    case 'requeued':
    case 'pending':
    case 'pull-error':
      return 'pending';
    case 'running':
      return 'running';
    case 'completed':
      return 'completed';
    case 'failed':
    case 'lost':
    case 'launch-failed':
    case 'output-missing':
      return 'failed';
    case 'cancelled':
      return 'other';
  }
  switch (row.status) {
    case 'Pending':
      return 'pending';
    case 'Running':
      return 'running';
    case 'Completed':
      return 'completed';
    case 'Failed':
    case 'Error':
      return 'failed';
    default:
      return 'other';
  }
}

export type KindCounts = Record<ReplicaKind, number>;

export function kindCounts(group: BatchGroup): KindCounts {
  const counts: KindCounts = { pending: 0, running: 0, completed: 0, failed: 0, other: 0 };
  for (const row of group.replicas) counts[replicaKind(row)] += 1;
  return counts;
}

/** Replicas waiting in the platform's queue, running again after a preemption, or missing an output. */
export function queueCounts(group: BatchGroup): { queued: number; requeued: number; outputMissing: number } {
  const counts = { queued: 0, requeued: 0, outputMissing: 0 };
  for (const row of group.replicas) {
    if (row.state === 'queued') counts.queued += 1;
    else if (row.state === 'requeued') counts.requeued += 1;
    else if (row.state === 'output-missing') counts.outputMissing += 1;
  }
  const monitor = group.manifest?.counts;
  return {
    queued: monitor?.queued ?? counts.queued,
    requeued: monitor?.requeued ?? counts.requeued,
    outputMissing: monitor?.outputMissing ?? counts.outputMissing,
  };
}

/** Why a failed replica failed when no exception is known: the key of its failure group. */
function failureReason(row: ReplicaRow): string {
  if (row.state === 'launch-failed' || row.state === 'lost' || row.state === 'output-missing')
    return row.state;
  return row.exitCode !== undefined ? 'exit' : 'unknown';
}

/** The batch's failures grouped by signature (same cell and exception), largest group first. */
export function batchFailures(group: BatchGroup): FailureGroup[] {
  const failed: FailedReplica[] = [];
  group.replicas.forEach((row, position) => {
    if (replicaKind(row) !== 'failed') return;
    const failure = row.failure;
    const known = failure?.cell !== undefined || failure?.exception !== undefined;
    failed.push({
      replica: row.index ?? position + 1,
      name: row.name,
      ...(failure?.cell !== undefined ? { cell: failure.cell } : {}),
      ...(failure?.exception !== undefined ? { exception: failure.exception } : {}),
      ...((failure?.message ?? row.message) ? { message: failure?.message ?? row.message } : {}),
      ...(known ? {} : { reason: failureReason(row) }),
    });
  });
  return groupFailures(failed);
}

/** Seconds a replica ran (or has been running at `now`). */
export function elapsedSeconds(row: ReplicaRow, now: number): number | undefined {
  if (row.durationSeconds !== undefined || !row.start) return row.durationSeconds;
  const end = row.end?.getTime() ?? (replicaKind(row) === 'running' ? now : undefined);
  return end === undefined ? row.durationSeconds : Math.max(0, (end - row.start.getTime()) / 1000);
}

/** The time left for the batch at `now`, from its completed replicas (see src/batch `estimateRemaining`). */
export function batchEta(group: BatchGroup, now: number): BatchEta {
  const completed: number[] = [];
  const running: number[] = [];
  let waiting = 0;
  for (const row of group.replicas) {
    const kind = replicaKind(row);
    if (kind === 'completed') {
      const seconds = elapsedSeconds(row, now);
      if (seconds !== undefined) completed.push(seconds);
    } else if (kind === 'running') {
      running.push(elapsedSeconds(row, now) ?? 0);
    } else if (kind === 'pending') {
      waiting += 1;
    }
  }
  return estimateRemaining({ completed, running, waiting });
}

/** The swept parameters of a batch: the sweep's own list, else every parameter a replica reports. */
export function sweptParameters(group: BatchGroup): string[] {
  const declared = group.manifest?.sweep?.parameters;
  if (declared && declared.length > 0) return declared;
  const names = new Set<string>();
  for (const row of group.replicas) for (const name of Object.keys(row.params ?? {})) names.add(name);
  return [...names].sort();
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

/** One GiB in decimal GB: the platform reports `8Gi` for a request of 8 ("GB" in every form). */
const GIB_IN_GB = 1.073741824;

/** RAM as the user asked for it: a whole number of GiB shows as that number, as it was typed. */
export function formatRam(gb: number): string {
  const gib = gb / GIB_IN_GB;
  const asked = Math.round(gib) > 0 && Math.abs(gib - Math.round(gib)) < 0.005 ? Math.round(gib) : gb;
  return `${round(asked)} GB`;
}

/** "2 CPU · 8 GB" from what was requested (fixed) or is in use (flexible), or "flexible". */
export function formatResources(session: Session | undefined): string {
  if (!session) return '';
  const cores = session.requestedCPUCores ?? session.cpuCoresInUse;
  const ram = session.requestedRAM ?? session.ramInUse;
  const parts: string[] = [];
  if (cores !== undefined) parts.push(`${round(cores)} CPU`);
  if (ram !== undefined) parts.push(formatRam(ram));
  if (session.requestedGPUCores) parts.push(`${session.requestedGPUCores} GPU`);
  if (parts.length === 0) return session.isFixedResources === false ? 'flexible' : '';
  return parts.join(' · ');
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * The batch of a summary alone (notebook outputs, which have no session list), or joined with sessions:
 * what the views take.
 */
export function batchGroupOf(summary: BatchSummary, sessions: readonly Session[] = []): BatchGroup {
  const group = groupSessions(sessions, [{ ...summary, deletedAt: undefined }]).batches.find(
    (g) => g.key === summary.id,
  );
  return group as BatchGroup;
}
