/**
 * What a person wants to know about a batch at a glance, computed from what the monitor knows: why its
 * replicas failed (grouped by signature), when it will end (an estimate, only when the data supports
 * one), and where each replica sits in time. Pure functions: the panel, the notebook outputs and the
 * CLI share them, and tests drive them directly.
 */

/** One failed replica, as far as its failure is known. */
export interface FailedReplica {
  replica: number;
  name: string;
  /** 1-based notebook cell that raised, read from the replica's log. */
  cell?: number;
  /** The exception's type, e.g. `FileNotFoundError`. */
  exception?: string;
  /** The rest of the error line, e.g. `[Errno 2] No such file or directory: 'x.csv'`. */
  message?: string;
  /**
   * Why it failed when no exception is known (the replica never ran, was lost, or ended without a
   * readable error): failures with the same reason and no exception form one group.
   */
  reason?: string;
}

/** Replicas that failed the same way: same cell and same exception (or the same reason when neither is known). */
export interface FailureGroup {
  /** Stable key of the signature, e.g. `cell:4|FileNotFoundError` or `reason:lost`. */
  key: string;
  cell?: number;
  exception?: string;
  reason?: string;
  /** The message most of the group's replicas share (one example of what went wrong). */
  message?: string;
  /** In replica order. */
  replicas: FailedReplica[];
}

/**
 * Groups failures by signature: the same cell and the same exception make one group whatever the
 * message says (a missing file names a different path in each replica). Largest group first, then by
 * cell; replicas in replica order.
 */
export function groupFailures(failures: readonly FailedReplica[]): FailureGroup[] {
  const groups = new Map<string, FailureGroup>();
  for (const failure of failures) {
    const known = failure.cell !== undefined || failure.exception !== undefined;
    const key = known
      ? `cell:${failure.cell ?? '?'}|${failure.exception ?? '?'}`
      : `reason:${failure.reason ?? 'unknown'}`;
    let group = groups.get(key);
    if (!group) {
      group = {
        key,
        ...(failure.cell !== undefined ? { cell: failure.cell } : {}),
        ...(failure.exception !== undefined ? { exception: failure.exception } : {}),
        ...(!known ? { reason: failure.reason ?? 'unknown' } : {}),
        replicas: [],
      };
      groups.set(key, group);
    }
    group.replicas.push(failure);
  }
  const result = [...groups.values()];
  for (const group of result) {
    group.replicas.sort((a, b) => a.replica - b.replica);
    const message = mostCommon(group.replicas.map((r) => r.message).filter((m): m is string => !!m));
    if (message !== undefined) group.message = message;
  }
  return result.sort(
    (a, b) =>
      b.replicas.length - a.replicas.length ||
      (a.cell ?? Infinity) - (b.cell ?? Infinity) ||
      a.key.localeCompare(b.key),
  );
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  let best: string | undefined;
  let bestCount = 0;
  for (const value of values) {
    const count = (counts.get(value) ?? 0) + 1;
    counts.set(value, count);
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/**
 * `ZeroDivisionError: division by zero` -> exception `ZeroDivisionError`, message `division by zero`. A
 * line that does not start with a (dotted) identifier and a colon is all message.
 */
export function splitError(error: string): { exception?: string; message?: string } {
  const text = error.trim();
  const match = /^([A-Za-z_][\w.]*)\s*:\s*(.*)$/s.exec(text);
  if (match) return { exception: match[1], ...(match[2] ? { message: match[2] } : {}) };
  return text ? { message: text } : {};
}

/** What the estimate of the time left is made from. */
export interface EtaInput {
  /** Seconds each completed replica ran. */
  completed: readonly number[];
  /** Seconds each running replica has run so far. */
  running: readonly number[];
  /** Replicas that have not started yet (launching, queued, pending, requeued). */
  waiting: number;
}

export interface BatchEta {
  /** Seconds until the last predictable replica ends; absent when that cannot be said honestly. */
  seconds?: number;
  /**
   * Why there is no estimate: too few completed replicas to know how long one takes, nothing running
   * (no capacity observed for the waiting ones), only stragglers left, or nothing left at all.
   */
  reason?: 'too-few-completed' | 'nothing-running' | 'only-stragglers' | 'nothing-left';
  /**
   * Running replicas that have run longer than every completed one took: when they end cannot be
   * predicted from the data, so they are left out of `seconds` (and their slots are not reused).
   */
  stragglers: number;
  /** How many completed durations the estimate is based on. */
  basis: number;
}

/**
 * Completed replicas needed before an estimate is given: at least 5, and at least a tenth of the
 * replicas, so that a few quick early finishers do not promise too much.
 */
export function minCompletedForEta(total: number): number {
  return Math.max(5, Math.ceil(total / 10));
}

/**
 * Estimates when a batch ends from the durations of its completed replicas.
 *
 * - A running replica that has run for `e` seconds is expected to need the mean of `d - e` over the
 *   completed durations `d` longer than `e` (what the finished ones needed beyond that point). When no
 *   completed replica ran that long, it is a straggler: it is counted, not predicted.
 * - Waiting replicas take the mean completed duration each, on the slots the predictable running
 *   replicas free up (the platform's observed parallelism), earliest free slot first.
 */
export function estimateRemaining(input: EtaInput): BatchEta {
  const completed = input.completed.filter((d) => Number.isFinite(d) && d >= 0);
  const basis = completed.length;
  const total = basis + input.running.length + input.waiting;
  if (input.running.length === 0 && input.waiting === 0)
    return { reason: 'nothing-left', stragglers: 0, basis };
  if (basis < minCompletedForEta(total)) return { reason: 'too-few-completed', stragglers: 0, basis };

  const longest = Math.max(...completed);
  const mean = completed.reduce((sum, d) => sum + d, 0) / basis;
  const slots: number[] = [];
  let stragglers = 0;
  for (const elapsed of input.running) {
    if (elapsed >= longest) {
      stragglers += 1;
      continue;
    }
    const beyond = completed.filter((d) => d > elapsed);
    slots.push(beyond.reduce((sum, d) => sum + (d - elapsed), 0) / beyond.length);
  }
  if (slots.length === 0) {
    if (input.waiting > 0 && stragglers === 0) return { reason: 'nothing-running', stragglers, basis };
    return { reason: 'only-stragglers', stragglers, basis };
  }
  for (let i = 0; i < input.waiting; i++) {
    let earliest = 0;
    for (let s = 1; s < slots.length; s++) if (slots[s] < slots[earliest]) earliest = s;
    slots[earliest] += mean;
  }
  return { seconds: Math.max(...slots), stragglers, basis };
}

/** One replica on the timeline. */
export interface TimelineInput {
  replica: number;
  /** Epoch milliseconds. */
  start?: number;
  end?: number;
  /** Still running: the bar reaches `now`. */
  open?: boolean;
  /** The outcome the bar is coloured by (the caller's own categories). */
  kind: string;
}

export interface TimelineBar {
  replica: number;
  /** Milliseconds since the timeline's origin. */
  from: number;
  to: number;
  open: boolean;
  kind: string;
}

export interface TimelineLayout {
  /** Epoch milliseconds of the first start (the left edge). */
  origin: number;
  /** Milliseconds from the first start to the last end (or now, while a replica runs). */
  span: number;
  /** Replicas that have started, by start time, then replica. */
  bars: TimelineBar[];
  /** Replicas not started yet (no bar). */
  waiting: number;
}

/** One bar per started replica from its start to its end (to `now` while it runs), ordered by start. */
export function timelineLayout(items: readonly TimelineInput[], now: number): TimelineLayout {
  const started = items.filter((item) => item.start !== undefined && Number.isFinite(item.start));
  if (started.length === 0) return { origin: now, span: 0, bars: [], waiting: items.length };
  const origin = Math.min(...started.map((item) => item.start as number));
  const bars = started
    .map((item) => {
      const from = (item.start as number) - origin;
      const open = item.end === undefined && item.open === true;
      const end = item.end ?? (open ? Math.max(now, item.start as number) : (item.start as number));
      return { replica: item.replica, from, to: Math.max(from, end - origin), open, kind: item.kind };
    })
    .sort((a, b) => a.from - b.from || a.replica - b.replica);
  const span = Math.max(1, ...bars.map((bar) => bar.to));
  return { origin, span, bars, waiting: items.length - started.length };
}
