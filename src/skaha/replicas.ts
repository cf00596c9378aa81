/**
 * The replica loop: n `POST /session`, at most `concurrency` at once, each replica named `<name>-<i>` (bare
 * name when n = 1) with `REPLICA_ID=i` and `REPLICA_COUNT=n` appended to its env, as the official client does.
 *
 * Unlike the official client, every replica gets an outcome (its session id, or why not), and no replica is
 * created twice: POST is not idempotent, so a POST whose fate is unknown (the connection dropped after sending,
 * a timeout, a 5xx that may have come after the work was done) is reconciled by listing the sessions and
 * looking for the replica's name before any retry, and once more before giving up.
 *
 * Two options serve callers that already know more: `baseline` (a listing the caller made moments ago, which
 * saves the pre-launch listing: one round trip) and `ids` (launch only some REPLICA_IDs of the n, e.g. the
 * failed replicas of an earlier launch, with exactly the names and env they would have had in the full set).
 *
 * The residual risk, stated plainly: if the service is still creating a session when the listing runs (a POST
 * that timed out while the service was busy), the listing cannot see it; the retry backoff (at least
 * `retryDelayMs`, growing) runs before the listing to make that unlikely.
 */
import type { SkahaClient } from './client';
import { SkahaError, SkahaTransportError } from './errors';
import { abortableSleep } from './sleep';
import type { Session, SessionSpec, SkahaContext } from './types';
import {
  envProblems,
  nameProblems,
  replicaCountProblems,
  replicaName,
  throwProblems,
  validateSessionSpec,
} from './validate';

export type ReplicaOutcome =
  | { replica: number; name: string; ok: true; sessionId: string; attempts: number; reconciled?: boolean }
  | {
      replica: number;
      name: string;
      ok: false;
      status?: number;
      code: string;
      message: string;
      attempts: number;
    };

export interface CreateReplicasOptions {
  /** POSTs in flight at once (default 32, the official client's figure). */
  concurrency?: number;
  /** Called as each replica settles (in completion order; the result is in replica order). */
  onOutcome?: (outcome: ReplicaOutcome) => void;
  /** Aborting stops launching: replicas not yet started get `{ ok: false, code: 'cancelled' }`. */
  signal?: AbortSignal;
  /** Retries per replica after the first attempt, for 502/503/504/429 and transport errors (default 3). */
  retries?: number;
  /** First retry delay in ms, doubled each time, with jitter (default 1000). */
  retryDelayMs?: number;
  /** Cap on any wait, including the service's Retry-After (default 30000). */
  maxRetryDelayMs?: number;
  /**
   * Sessions that already carry one of the replica names: 'allow' (default) launches anyway (Skaha allows
   * duplicate names), 'fail' gives those replicas `{ ok: false, code: 'name-taken' }` without launching them.
   * Either way they are never mistaken for a replica this call created.
   */
  existing?: 'allow' | 'fail';
  /**
   * Sessions known to exist before this launch, from a listing the caller already made (any type filter that
   * includes the spec's kind). When given, createReplicas does not list sessions before launching.
   *
   * The caller vouches that it is fresh: every session that exists when the launch starts must be in it.
   * A session created after that listing under one of the replica names (by another launch of the same
   * name) would not be known as older, and reconciliation could take it for a replica of this launch. Pass
   * it only when the listing is recent and the names are this launch's own (e.g. checked unused while
   * planning, moments ago); otherwise leave it out and let createReplicas list.
   */
  baseline?: Session[];
  /**
   * Launch only these REPLICA_IDs out of `n` (each an integer in 1..n, no repeats), with the names and env
   * they have in the full set of n (`<name>-<id>`, REPLICA_ID=<id>, REPLICA_COUNT=<n>). The result has one
   * outcome per requested id, in the order given, and each outcome's `replica` is its id. An empty list
   * launches nothing and sends nothing. Default: 1..n.
   */
  ids?: number[];
  /**
   * The name and env of each replica, when not the default (`<name>-<id>`, REPLICA_ID=<id>,
   * REPLICA_COUNT=<n>): a batch sweep names replica i `<name>-<set>-<shard>` and gives it REPLICA_ID =
   * shard. `env` is added to the spec's env after the defaults (so it may replace REPLICA_ID and
   * REPLICA_COUNT). Called once per requested id before anything is sent; the names must be distinct,
   * and each name and env is checked like the spec's.
   */
  replica?: (id: number) => { name: string; env?: Record<string, string> };
  /** Validate cores/ram/gpus against these options before launching. */
  context?: SkahaContext;
  /** Validate the image's registry against these hosts before launching. */
  repositories?: string[];
  /** Waits between attempts; injectable for tests. Must resolve early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Random source for jitter, in [0, 1); injectable for tests. */
  random?: () => number;
}

type Failure = Extract<ReplicaOutcome, { ok: false }>;

/** May this failed POST have created the session anyway? */
function fateUnknown(error: unknown): boolean {
  if (error instanceof SkahaTransportError) return error.sent;
  if (error instanceof SkahaError) return error.status !== undefined && error.status >= 500;
  return true;
}

/** Is it worth trying again? Transient statuses and transport failures only: a 400 stays a 400. */
function retriable(error: unknown): boolean {
  if (error instanceof SkahaTransportError) return true;
  if (error instanceof SkahaError)
    return error.status === 503 || error.status === 502 || error.status === 504 || error.status === 429;
  return false;
}

function failureOf(error: unknown, replica: number, name: string, attempts: number): Failure {
  if (error instanceof SkahaError) {
    const failure: Failure = { replica, name, ok: false, code: error.code, message: error.message, attempts };
    if (error.status !== undefined) failure.status = error.status;
    return failure;
  }
  return {
    replica,
    name,
    ok: false,
    code: 'error',
    message: error instanceof Error ? error.message : String(error),
    attempts,
  };
}

/**
 * Lists sessions for reconciliation. Concurrent replicas share one listing, but only one that STARTED after
 * their failure was observed: an older listing could predate the session it is asked about.
 */
class Reconciler {
  private started = 0;
  private inflight?: { seq: number; sessions: Promise<Session[]> };
  private readonly claimed = new Set<string>();

  constructor(
    private readonly client: SkahaClient,
    private readonly kind: SessionSpec['kind'],
    private readonly baseline: Set<string>,
  ) {}

  /** A ticket taken when a failure is observed. */
  ticket(): number {
    return this.started;
  }

  private sessionsAfter(ticket: number): Promise<Session[]> {
    if (this.inflight && this.inflight.seq > ticket) return this.inflight.sessions;
    const seq = ++this.started;
    const sessions = this.client.list({ type: this.kind ?? 'headless' });
    const entry = { seq, sessions };
    this.inflight = entry;
    const clear = () => {
      if (this.inflight === entry) this.inflight = undefined;
    };
    sessions.then(clear, clear);
    return sessions;
  }

  /** The id of a session named `name` created by this launch, if the service has one. */
  async find(name: string, ticket: number): Promise<string | undefined> {
    const wanted = name.toLowerCase();
    const sessions = await this.sessionsAfter(ticket);
    const match = sessions.find(
      (s) => s.name.toLowerCase() === wanted && !this.baseline.has(s.id) && !this.claimed.has(s.id),
    );
    if (match) this.claimed.add(match.id);
    return match?.id;
  }

  claim(id: string): void {
    this.claimed.add(id);
  }
}

/** The replica ids to launch: `ids` checked against n, or 1..n. */
function requestedIds(n: number, ids: number[] | undefined): number[] {
  if (ids === undefined) return Array.from({ length: n }, (_, i) => i + 1);
  if (!Array.isArray(ids))
    throw new SkahaError('invalid-input', `ids must be an array of replica ids, not ${JSON.stringify(ids)}`);
  const bad = ids.filter((id) => !Number.isInteger(id) || id < 1 || id > n);
  if (bad.length > 0)
    throw new SkahaError(
      'invalid-input',
      `ids ${bad.map((id) => JSON.stringify(id)).join(', ')} out of range: each replica id must be a whole number in 1..${n}`,
    );
  const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (repeated.length > 0)
    throw new SkahaError(
      'invalid-input',
      `ids ${[...new Set(repeated)].join(', ')} requested more than once: a replica is launched at most once per call`,
    );
  return [...ids];
}

/**
 * Launch `n` replicas of `spec` (or only the REPLICA_IDs in `options.ids`). Resolves to one outcome per
 * replica, in replica order (the order of `ids` when given); rejects only for invalid input (SkahaError
 * 'invalid-input', before anything is sent).
 */
export async function createReplicas(
  client: SkahaClient,
  spec: SessionSpec,
  n: number,
  options: CreateReplicasOptions = {},
): Promise<ReplicaOutcome[]> {
  const custom = options.replica;
  if (custom) {
    // Each replica's own name and env replace the template's suffix rule: checked one by one.
    validateSessionSpec(spec, { context: options.context, repositories: options.repositories });
    throwProblems(replicaCountProblems(n));
  } else {
    validateSessionSpec(spec, { replicas: n, context: options.context, repositories: options.repositories });
  }
  const ids = requestedIds(n, options.ids);
  const own = new Map<number, { name: string; env: Record<string, string> }>();
  if (custom) {
    const problems: string[] = [];
    const byName = new Map<string, number>();
    for (const id of ids) {
      const entry = custom(id);
      own.set(id, { name: entry.name, env: entry.env ?? {} });
      problems.push(
        ...nameProblems(entry.name).map((p) => `replica ${id}: ${p}`),
        ...envProblems(entry.env).map((p) => `replica ${id}: ${p}`),
      );
      const key = String(entry.name).toLowerCase();
      const first = byName.get(key);
      if (first !== undefined)
        problems.push(
          `replicas ${first} and ${id} are both named ${JSON.stringify(entry.name)}: names must be distinct.`,
        );
      else byName.set(key, id);
    }
    throwProblems(problems);
  }
  if (options.baseline !== undefined && !Array.isArray(options.baseline))
    throw new SkahaError(
      'invalid-input',
      `baseline must be the sessions listed before the launch (an array), not ${JSON.stringify(options.baseline)}`,
    );
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const retries = Math.max(0, Math.floor(options.retries ?? 3));
  const baseDelay = options.retryDelayMs ?? 1000;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const signal = options.signal;

  // Where each replica's outcome goes in the result.
  const slot = new Map(ids.map((id, index) => [id, index]));
  const outcomes: ReplicaOutcome[] = new Array(ids.length);
  if (ids.length === 0) return outcomes;
  const settle = (outcome: ReplicaOutcome) => {
    outcomes[slot.get(outcome.replica)!] = outcome;
    if (options.onOutcome) {
      try {
        options.onOutcome(outcome);
      } catch (error) {
        // A failing observer must not lose the other replicas' outcomes.
        console.error('createReplicas: onOutcome threw', error);
      }
    }
  };
  const nameOf = (replica: number) => own.get(replica)?.name ?? replicaName(spec.name, replica, n);

  // Sessions that exist before the launch: never taken for a replica of this launch.
  let before: Session[];
  if (options.baseline) {
    before = options.baseline;
  } else {
    try {
      before = await client.list({ type: spec.kind ?? 'headless' });
    } catch (error) {
      // Without this listing a lost POST could not be told from an older namesake: launch nothing.
      const why = error instanceof Error ? error.message : String(error);
      for (const id of ids) {
        const failure = failureOf(error, id, nameOf(id), 0);
        failure.message = `not launched: listing existing sessions failed first (${why})`;
        settle(failure);
      }
      return outcomes;
    }
  }
  const baseline = new Set(before.map((s) => s.id));
  const taken = new Set(before.map((s) => s.name.toLowerCase()));
  const reconciler = new Reconciler(client, spec.kind, baseline);

  const cancelled = (replica: number, attempts: number, detail = ''): Failure => ({
    replica,
    name: nameOf(replica),
    ok: false,
    code: 'cancelled',
    message: `not launched: cancelled${detail}`,
    attempts,
  });

  async function launch(replica: number): Promise<ReplicaOutcome> {
    const name = nameOf(replica);
    if (options.existing === 'fail' && taken.has(name.toLowerCase())) {
      return {
        replica,
        name,
        ok: false,
        code: 'name-taken',
        message: `a session named ${JSON.stringify(name)} already exists: delete it or choose another name`,
        attempts: 0,
      };
    }
    const env = {
      ...spec.env,
      REPLICA_ID: String(replica),
      REPLICA_COUNT: String(n),
      ...own.get(replica)?.env,
    };
    const replicaSpec: SessionSpec = { ...spec, name, env };
    let attempts = 0;
    let unknown = false; // some earlier attempt may have created the session
    let ticket = 0;
    for (;;) {
      attempts += 1;
      let error: unknown;
      try {
        const sessionId = await client.create(replicaSpec);
        reconciler.claim(sessionId);
        return { replica, name, ok: true, sessionId, attempts };
      } catch (caught) {
        error = caught;
      }
      if (fateUnknown(error)) {
        unknown = true;
        ticket = reconciler.ticket();
      }
      const again = retriable(error) && attempts <= retries && !signal?.aborted;
      if (again) {
        const retryAfter = error instanceof SkahaError ? error.retryAfterSeconds : undefined;
        const backoff = baseDelay * 2 ** (attempts - 1) * (0.5 + random());
        await sleep(Math.min(maxDelay, retryAfter !== undefined ? retryAfter * 1000 : backoff), signal);
      }
      if (unknown) {
        try {
          const found = await reconciler.find(name, ticket);
          if (found) return { replica, name, ok: true, sessionId: found, attempts, reconciled: true };
          // Listed after the failure and absent: that attempt created nothing, a new one is safe.
          unknown = false;
        } catch (listError) {
          // Cannot tell whether the session exists: neither retry (could duplicate) nor report it absent.
          const why = listError instanceof Error ? listError.message : String(listError);
          const failure = failureOf(error, replica, name, attempts);
          return {
            ...failure,
            code: 'uncertain',
            message: `${failure.message}; the session may exist, and listing sessions to check failed: ${why}`,
          };
        }
      }
      if (!again || signal?.aborted) {
        if (again && signal?.aborted)
          return cancelled(replica, attempts, ` after: ${failureOf(error, replica, name, attempts).message}`);
        return failureOf(error, replica, name, attempts);
      }
    }
  }

  let next = 0;
  async function worker(): Promise<void> {
    while (next < ids.length) {
      const replica = ids[next++];
      if (signal?.aborted) {
        settle(cancelled(replica, 0));
        continue;
      }
      settle(await launch(replica));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  return outcomes;
}
