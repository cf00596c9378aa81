import { createReplicas, replicaName } from '../skaha';
import type { CreateReplicasOptions, ReplicaOutcome, Session, SessionKind, SkahaClient } from '../skaha';
import { ManifestWriter, readManifest } from './manifest';
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
  /**
   * The replica ids to launch now (default: the plan's, or only the canary when the plan has one waiting;
   * `continueCanary` launches the rest).
   */
  ids?: number[];
  /**
   * How old (ms, from when it was requested) the plan's session listing may be for the launch to use it as
   * createReplicas' baseline instead of listing again (default 60 000; 0: always list again).
   *
   * Why a minute: the baseline only has to name the sessions that could be mistaken for a replica, i.e.
   * those carrying a replica name, and planning refused to go on if any existed. What the listing cannot
   * show is a namesake created after it (the same name launched elsewhere in between). Submitting straight
   * after planning (the CLI, the kernel commands) takes well under a second; a minute bounds that window
   * while still covering a slow notebook read or store, and a plan left waiting longer (a dialog left open)
   * gets a fresh listing.
   */
  baselineMaxAgeMs?: number;
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
 * a session with the replica's name is the replica's. Outcomes are fixed in place; returns the replica
 * ids a listing showed were not created.
 */
async function sweepUncertain(
  client: SkahaClient,
  kind: SessionKind,
  outcomes: ReplicaOutcome[],
  signal?: AbortSignal,
): Promise<Set<number>> {
  const absent = new Set<number>();
  const open = outcomes.flatMap((outcome, index) => (mayExist(outcome) ? [{ outcome, index }] : []));
  if (open.length === 0) return absent;
  const claimed = new Set(outcomes.flatMap((o) => (o.ok ? [o.sessionId] : [])));
  for (let attempt = 0; attempt < 4; attempt++) {
    let sessions: Session[];
    try {
      sessions = await client.list({ type: kind });
    } catch {
      if (signal?.aborted) return absent;
      await new Promise<void>((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
      continue;
    }
    for (const { outcome, index } of open) {
      const name = outcome.name.toLowerCase();
      const found = sessions.find((s) => s.name.toLowerCase() === name && !claimed.has(s.id));
      if (found) {
        claimed.add(found.id);
        outcomes[index] = {
          replica: outcome.replica,
          name: outcome.name,
          ok: true,
          sessionId: found.id,
          attempts: outcome.attempts,
          reconciled: true,
        };
      } else if (!outcome.ok) {
        absent.add(outcome.replica);
        outcomes[index] = {
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
 * The plan's session listing, as createReplicas' baseline, if it is recent enough to vouch for: requested
 * at most `maxAgeMs` ago (and not in the future: a clock that jumped back proves nothing), and of the
 * kind being launched (planning lists headless sessions).
 */
function recentListing(plan: BatchPlan, maxAgeMs: number): Session[] | undefined {
  const listing = plan.sessionListing;
  if (!listing || (plan.spec.kind ?? 'headless') !== 'headless') return undefined;
  const age = Date.now() - listing.requestedAt.getTime();
  return age >= 0 && age <= maxAgeMs ? listing.sessions : undefined;
}

/**
 * Materializes the batch folder, then launches every replica with createReplicas (at most `concurrency`
 * at once, reconcile-before-retry: no replica twice, none missing). Each outcome is written to the
 * manifest as it arrives; when `signal` aborts, the replicas not yet sent are recorded as cancelled and
 * the manifest says exactly which ones were launched.
 */
export async function submitBatch(plan: BatchPlan, options: SubmitOptions): Promise<SubmitResult> {
  const writer =
    options.writer ??
    (plan.inPlace
      ? new ManifestWriter(options.store, plan.folder, await readManifest(options.store, plan.folder))
      : await materializeBatch(plan, options.store));
  // The canary goes alone; the others wait for `continueCanary`.
  const ids =
    options.ids ??
    (plan.manifest.canary?.state === 'waiting' ? [plan.manifest.canary.replica] : plan.replicaIds);
  const own = new Map(plan.replicas.map((r) => [r.replica, r]));
  const counts = { launched: 0, failed: 0, cancelled: 0 };
  const total = ids.length;
  const client = options.client;
  const spec = plan.spec;
  const kind = spec.kind ?? 'headless';
  const recorded = new Set<number>();

  // Outcomes carry the batch's own replica ids (createReplicas launches `ids` out of replicaCount).
  const record = (outcome: ReplicaOutcome, final = true) => {
    // A failure whose fate is unknown waits for the sweep below before it is written down.
    if (!final && mayExist(outcome)) return;
    const replica = outcome.replica;
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
    manifest.launch = { ...manifest.launch, state: 'launching', startedAt: new Date().toISOString() };
    // Launched again in the same folder (re-run failed): the earlier launch goes to the record's history.
    for (const entry of manifest.replicas) {
      if (!ids.includes(entry.replica) || !entry.launch) continue;
      entry.history = [
        ...(entry.history ?? []),
        { launch: entry.launch, ...(entry.observed ? { observed: entry.observed } : {}) },
      ];
      delete entry.launch;
      delete entry.observed;
    }
  });
  let error: unknown;
  try {
    const launchOptions: CreateReplicasOptions = {
      concurrency: options.concurrency ?? 32,
      replica: (id) => {
        const planned = own.get(id);
        return planned
          ? { name: planned.name, env: planned.env }
          : { name: replicaName(spec.name, id, plan.replicaCount) };
      },
      signal: options.signal,
      ...(options.retries !== undefined ? { retries: options.retries } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    };
    const baseline = recentListing(plan, options.baselineMaxAgeMs ?? 60_000);
    const outcomes = await createReplicas(client, spec, plan.replicaCount, {
      ...launchOptions,
      ids,
      ...(baseline ? { baseline } : {}),
      onOutcome: (outcome) => record(outcome, false),
    });
    let absent = await sweepUncertain(client, kind, outcomes, options.signal);
    // A 500 is not retried by createReplicas (it may not be transient), but once a listing has shown that
    // the session was not created, launching that replica again cannot duplicate it: one more pass. It
    // lists sessions afresh (no baseline): the first pass's sessions exist by now.
    const indexOf = new Map(ids.map((id, index) => [id, index]));
    for (let pass = 0; pass < (options.relaunchPasses ?? 1) && !options.signal?.aborted; pass++) {
      const again = outcomes.filter(
        (o) => !o.ok && ((o.code === 'server-error' && (o.status ?? 0) >= 500) || absent.has(o.replica)),
      );
      if (again.length === 0) break;
      const earlier = new Map(again.map((o) => [o.replica, o.attempts]));
      // Attempts count both passes.
      const summed = (o: ReplicaOutcome): ReplicaOutcome => ({
        ...o,
        attempts: (earlier.get(o.replica) ?? 0) + o.attempts,
      });
      const second = await createReplicas(client, spec, plan.replicaCount, {
        ...launchOptions,
        ids: again.map((o) => o.replica),
        onOutcome: (outcome) => record(summed(outcome), false),
      });
      absent = await sweepUncertain(client, kind, second, options.signal);
      for (const outcome of second) outcomes[indexOf.get(outcome.replica)!] = summed(outcome);
    }
    for (const outcome of outcomes) record(outcome);
  } catch (caught) {
    error = caught;
  }
  // Whatever happened, every replica ends up with an outcome in the manifest.
  const interrupted = options.signal?.aborted === true || error !== undefined;
  for (const replica of ids) {
    if (recorded.has(replica)) continue;
    const message =
      error instanceof Error ? `not launched: ${error.message}` : 'not launched: submission was stopped';
    record({
      replica,
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
