/**
 * The replica loop: n `POST /session`, at most `concurrency` at once, each replica named `<name>-<i>` (bare
 * name when n = 1) with `REPLICA_ID=i` and `REPLICA_COUNT=n` appended to its env, as the official client does.
 *
 * Unlike the official client, every replica gets an outcome (its session id, or why not), and no replica is
 * created twice: POST is not idempotent, so a POST whose fate is unknown (the connection dropped after sending,
 * a timeout, a 5xx that may have come after the work was done) is reconciled by listing the sessions and
 * looking for the replica's name before any retry, and once more before giving up.
 *
 * The residual risk, stated plainly: if the service is still creating a session when the listing runs (a POST
 * that timed out while the service was busy), the listing cannot see it; the retry backoff (at least
 * `retryDelayMs`, growing) runs before the listing to make that unlikely.
 */
import type { SkahaClient } from './client';
import { SkahaError, SkahaTransportError } from './errors';
import type { Session, SessionSpec, SkahaContext } from './types';
import { replicaName, validateSessionSpec } from './validate';

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

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

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

/**
 * Launch `n` replicas of `spec`. Resolves to one outcome per replica, in replica order; rejects only for
 * invalid input (SkahaError 'invalid-input', before anything is sent).
 */
export async function createReplicas(
  client: SkahaClient,
  spec: SessionSpec,
  n: number,
  options: CreateReplicasOptions = {},
): Promise<ReplicaOutcome[]> {
  validateSessionSpec(spec, { replicas: n, context: options.context, repositories: options.repositories });
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  const retries = Math.max(0, Math.floor(options.retries ?? 3));
  const baseDelay = options.retryDelayMs ?? 1000;
  const maxDelay = options.maxRetryDelayMs ?? 30_000;
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const signal = options.signal;

  const outcomes: ReplicaOutcome[] = new Array(n);
  const settle = (outcome: ReplicaOutcome) => {
    outcomes[outcome.replica - 1] = outcome;
    if (options.onOutcome) {
      try {
        options.onOutcome(outcome);
      } catch (error) {
        // A failing observer must not lose the other replicas' outcomes.
        console.error('createReplicas: onOutcome threw', error);
      }
    }
  };
  const names = Array.from({ length: n }, (_, i) => replicaName(spec.name, i + 1, n));

  // Sessions that exist before the launch: never taken for a replica of this launch.
  let before: Session[];
  try {
    before = await client.list({ type: spec.kind ?? 'headless' });
  } catch (error) {
    // Without this listing a lost POST could not be told from an older namesake: launch nothing.
    const why = error instanceof Error ? error.message : String(error);
    for (let i = 1; i <= n; i++) {
      const failure = failureOf(error, i, names[i - 1], 0);
      failure.message = `not launched: listing existing sessions failed first (${why})`;
      settle(failure);
    }
    return outcomes;
  }
  const baseline = new Set(before.map((s) => s.id));
  const taken = new Set(before.map((s) => s.name.toLowerCase()));
  const reconciler = new Reconciler(client, spec.kind, baseline);

  const cancelled = (replica: number, attempts: number, detail = ''): Failure => ({
    replica,
    name: names[replica - 1],
    ok: false,
    code: 'cancelled',
    message: `not launched: cancelled${detail}`,
    attempts,
  });

  async function launch(replica: number): Promise<ReplicaOutcome> {
    const name = names[replica - 1];
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
    const env = { ...spec.env, REPLICA_ID: String(replica), REPLICA_COUNT: String(n) };
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

  let next = 1;
  async function worker(): Promise<void> {
    while (next <= n) {
      const replica = next++;
      if (signal?.aborted) {
        settle(cancelled(replica, 0));
        continue;
      }
      settle(await launch(replica));
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return outcomes;
}
