import { createReplicas, replicaName } from '../skaha';
import type { ReplicaOutcome, Session, SessionSpec, SkahaClient } from '../skaha';
import { ManifestWriter } from './manifest';
import type { BatchStore } from './store';
import { joinPath } from './store';
import type { BatchManifest, BatchPlan, ReplicaLaunch } from './types';

/** Writes the batch folder: script, run.sh, helpers, `batch.json`. Fails (and writes no more) if anything exists. */
export async function materializeBatch(plan: BatchPlan, store: BatchStore): Promise<ManifestWriter> {
  await store.mkdirp(joinPath(plan.folder, '..'));
  // The manifest goes first and exclusively: a second submit with the same id fails here, before any file.
  const manifest: BatchManifest = structuredClone(plan.manifest);
  await store.writeTextExclusive(
    joinPath(plan.folder, 'batch.json'),
    `${JSON.stringify(manifest, null, 2)}\n`,
  );
  for (const file of plan.files) {
    await store.writeTextExclusive(joinPath(plan.folder, file.path), file.content, {
      executable: file.executable,
    });
  }
  for (const sub of ['logs', 'status', 'outputs']) await store.mkdirp(joinPath(plan.folder, sub));
  return new ManifestWriter(store, plan.folder, manifest);
}

export interface SubmitProgress {
  batchId: string;
  total: number;
  launched: number;
  failed: number;
  cancelled: number;
  /** The outcome that just arrived. */
  replica: number;
  launch: ReplicaLaunch;
}

export interface SubmitOptions {
  client: SkahaClient;
  store: BatchStore;
  /** POSTs in flight at once (default 32, as the official client). */
  concurrency?: number;
  /** Aborting stops launching: replicas not yet sent are recorded as cancelled. */
  signal?: AbortSignal;
  onProgress?: (progress: SubmitProgress) => void;
  /** Retries per replica for failures that are safe to retry (default: createReplicas' own). */
  retries?: number;
  /** First retry delay in ms (default: createReplicas' own, 1 s). */
  retryDelayMs?: number;
  /**
   * Extra launch passes for replicas that failed with a 500 (or an unknown fate) and that a listing
   * showed were not created (default 1; 0 to report them failed at once).
   */
  relaunchPasses?: number;
  /** A writer from `materializeBatch` (when the caller wrote the folder itself). */
  writer?: ManifestWriter;
}

export interface SubmitResult {
  batchId: string;
  folder: string;
  manifest: BatchManifest;
  launched: number;
  failed: number;
  cancelled: number;
}

export function launchRecord(outcome: ReplicaOutcome, at = new Date()): ReplicaLaunch {
  if (outcome.ok) {
    return {
      state: 'launched',
      sessionId: outcome.sessionId,
      attempts: outcome.attempts,
      ...(outcome.reconciled ? { reconciled: true } : {}),
      at: at.toISOString(),
    };
  }
  if (outcome.code === 'cancelled')
    return { state: 'cancelled', message: outcome.message, at: at.toISOString() };
  return {
    state: 'failed',
    code: outcome.code,
    ...(outcome.status !== undefined ? { status: outcome.status } : {}),
    message: outcome.message,
    attempts: outcome.attempts,
    at: at.toISOString(),
  };
}

/**
 * A client that lets createReplicas (which launches replicas 1..m) launch an arbitrary subset of a batch's
 * replica ids, e.g. only the failed ones of a re-run: replica k of the loop becomes replica ids[k-1] of
 * the batch, with the batch's own names, REPLICA_ID and REPLICA_COUNT; listed sessions are renamed back
 * so that reconciliation by name still finds them.
 */
function subsetClient(client: SkahaClient, name: string, ids: number[], count: number): SkahaClient {
  const virtualByReal = new Map(
    ids.map((id, k) => [replicaName(name, id, count), replicaName(name, k + 1, ids.length)]),
  );
  const proxy = Object.create(client) as SkahaClient;
  // Methods run against the real client (whose fields may be private to it).
  for (const method of [
    'get',
    'logs',
    'events',
    'eventsText',
    'delete',
    'renew',
    'stats',
    'context',
    'images',
    'repositories',
  ] as const) {
    const original = client[method] as (...args: unknown[]) => unknown;
    (proxy as unknown as Record<string, unknown>)[method] = original.bind(client);
  }
  proxy.create = (spec: SessionSpec) => {
    const k = Number(spec.env?.REPLICA_ID);
    const id = ids[k - 1];
    if (!Number.isInteger(id)) return client.create(spec);
    return client.create({
      ...spec,
      name: replicaName(name, id, count),
      env: { ...spec.env, REPLICA_ID: String(id), REPLICA_COUNT: String(count) },
    });
  };
  proxy.list = async (filter?: Parameters<SkahaClient['list']>[0]) => {
    const sessions: Session[] = await client.list(filter);
    return sessions.map((session) => {
      const virtual = virtualByReal.get(session.name);
      // Sessions that are not ours get a name no replica of the loop can have.
      return { ...session, name: virtual ?? `${session.name}.other` };
    });
  };
  return proxy;
}

/** A failed POST that may nevertheless have created the session (timeout, dropped connection, 5xx). */
function mayExist(outcome: ReplicaOutcome): boolean {
  return (
    !outcome.ok &&
    (outcome.code === 'uncertain' || outcome.code === 'transport' || (outcome.status ?? 0) >= 500)
  );
}

/**
 * createReplicas reconciles as it goes; when even its listing failed, a replica is left "uncertain".
 * One more look (a few tries) settles those: the plan made sure no other session carries our names, so
 * a session with the replica's name is the replica's. Outcomes are fixed in place.
 */
async function sweepUncertain(
  client: SkahaClient,
  plan: BatchPlan,
  outcomes: ReplicaOutcome[],
  signal?: AbortSignal,
): Promise<Set<number>> {
  const absent = new Set<number>();
  const open = outcomes.filter(mayExist);
  if (open.length === 0) return absent;
  const claimed = new Set(outcomes.flatMap((o) => (o.ok ? [o.sessionId] : [])));
  for (let attempt = 0; attempt < 4; attempt++) {
    let sessions: Session[];
    try {
      sessions = await client.list({ type: plan.spec.kind ?? 'headless' });
    } catch {
      if (signal?.aborted) return absent;
      await new Promise<void>((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      continue;
    }
    for (const outcome of open) {
      const name = outcome.name.toLowerCase();
      const found = sessions.find((s) => s.name.toLowerCase() === name && !claimed.has(s.id));
      if (found) {
        claimed.add(found.id);
        outcomes[outcome.replica - 1] = {
          replica: outcome.replica,
          name: outcome.name,
          ok: true,
          sessionId: found.id,
          attempts: outcome.attempts,
          reconciled: true,
        };
      } else if (!outcome.ok) {
        absent.add(outcome.replica);
        outcomes[outcome.replica - 1] = {
          ...outcome,
          message: `${outcome.message} (checked afterwards: no session named ${outcome.name} exists, so it was not created)`,
        };
      }
    }
    return absent;
  }
  return absent;
}

/**
 * Materializes the batch folder, then launches every replica with createReplicas (at most `concurrency`
 * at once, reconcile-before-retry: no replica twice, none missing). Each outcome is written to the
 * manifest as it arrives; when `signal` aborts, the replicas not yet sent are recorded as cancelled and
 * the manifest says exactly which ones were launched.
 */
export async function submitBatch(plan: BatchPlan, options: SubmitOptions): Promise<SubmitResult> {
  const writer = options.writer ?? (await materializeBatch(plan, options.store));
  const counts = { launched: 0, failed: 0, cancelled: 0 };
  const total = plan.replicaIds.length;
  const all = plan.replicaIds.length === plan.replicaCount && plan.replicaIds.every((id, i) => id === i + 1);
  const client = all
    ? options.client
    : subsetClient(options.client, plan.name, plan.replicaIds, plan.replicaCount);
  const spec: SessionSpec = plan.spec;
  const recorded = new Set<number>();

  const record = (outcome: ReplicaOutcome, final = true) => {
    // A failure whose fate is unknown waits for the sweep below before it is written down.
    if (!final && mayExist(outcome)) return;
    const replica = plan.replicaIds[outcome.replica - 1] ?? outcome.replica;
    if (recorded.has(replica)) return;
    recorded.add(replica);
    const launch = launchRecord(outcome);
    counts[launch.state === 'launched' ? 'launched' : launch.state === 'failed' ? 'failed' : 'cancelled'] +=
      1;
    void writer
      .update((manifest) => {
        const entry = manifest.replicas.find((r) => r.replica === replica);
        if (entry) entry.launch = launch;
      })
      .catch(() => undefined);
    options.onProgress?.({ batchId: plan.batchId, total, ...counts, replica, launch });
  };

  await writer.update((manifest) => {
    manifest.launch = { state: 'launching', startedAt: new Date().toISOString() };
  });
  let error: unknown;
  try {
    const launchOptions = {
      concurrency: options.concurrency ?? 32,
      signal: options.signal,
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    };
    const outcomes = await createReplicas(client, spec, total, {
      ...launchOptions,
      onOutcome: (outcome) => record(outcome, false),
    });
    let absent = await sweepUncertain(client, plan, outcomes, options.signal);
    // A 500 is not retried by createReplicas (it may not be transient), but once a listing has shown that
    // the session was not created, launching that replica again cannot duplicate it: one more pass.
    for (let pass = 0; pass < (options.relaunchPasses ?? 1) && !options.signal?.aborted; pass++) {
      const again = outcomes.filter(
        (o) => !o.ok && ((o.code === 'server-error' && (o.status ?? 0) >= 500) || absent.has(o.replica)),
      );
      if (again.length === 0) break;
      const ids = again.map((o) => plan.replicaIds[o.replica - 1]);
      const retryClient = subsetClient(options.client, plan.name, ids, plan.replicaCount);
      const toPlan = (o: ReplicaOutcome): ReplicaOutcome => {
        const first = again[o.replica - 1];
        return { ...o, replica: first.replica, name: first.name, attempts: first.attempts + o.attempts };
      };
      const second = await createReplicas(retryClient, spec, ids.length, {
        ...launchOptions,
        onOutcome: (outcome) => record(toPlan(outcome), false),
      });
      const secondAbsent = await sweepUncertain(
        retryClient,
        { ...plan, replicaIds: ids },
        second,
        options.signal,
      );
      absent = new Set([...secondAbsent].map((k) => again[k - 1].replica));
      for (const outcome of second) outcomes[again[outcome.replica - 1].replica - 1] = toPlan(outcome);
    }
    for (const outcome of outcomes) record(outcome);
  } catch (caught) {
    error = caught;
  }
  // Whatever happened, every replica ends up with an outcome in the manifest.
  const interrupted = options.signal?.aborted === true || error !== undefined;
  for (const replica of plan.replicaIds) {
    if (recorded.has(replica)) continue;
    const message =
      error instanceof Error ? `not launched: ${error.message}` : 'not launched: submission was stopped';
    record({
      replica: plan.replicaIds.indexOf(replica) + 1,
      name: '',
      ok: false,
      code: 'cancelled',
      message,
      attempts: 0,
    });
  }
  await writer.update((manifest) => {
    manifest.launch = {
      ...manifest.launch,
      state: interrupted ? 'interrupted' : 'launched',
      endedAt: new Date().toISOString(),
    };
  });
  await writer.flush();
  if (error !== undefined && !(options.signal?.aborted === true)) throw error;
  return { batchId: plan.batchId, folder: plan.folder, manifest: writer.current, ...counts };
}
