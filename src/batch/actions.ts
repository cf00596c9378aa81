import type { SkahaClient } from '../skaha';
import { ManifestWriter, markBatchDeleted, readManifest, readStatusFile } from './manifest';
import { describeOutcome, TERMINAL_STATES, UNSUCCESSFUL_STATES } from './monitor';
import type { BatchView, ReplicaState } from './monitor';
import { BatchPlanError, planBatch } from './plan';
import { fetchPlatformInfo } from './platform';
import { submitBatch } from './submit';
import type { SubmitOptions, SubmitResult } from './submit';
import { notebookDirOf } from './paths';
import type { BatchStore } from './store';
import { basename, joinPath } from './store';
import type { BatchInput, BatchManifest, BatchPlan } from './types';

/** The session id of a replica, if it was launched. */
export function replicaSessionId(manifest: BatchManifest, replica: number): string | undefined {
  const launch = manifest.replicas.find((r) => r.replica === replica)?.launch;
  return launch?.state === 'launched' ? launch.sessionId : undefined;
}

/** Deletes one replica's session (the platform answers 200 even for an id it no longer knows). */
export async function deleteReplica(
  client: SkahaClient,
  manifest: BatchManifest,
  replica: number,
): Promise<string> {
  const id = replicaSessionId(manifest, replica);
  if (!id) {
    throw new Error(`replica ${replica} of batch ${manifest.batchId} has no session (it was never launched)`);
  }
  await client.delete(id);
  return id;
}

export interface DeleteReport {
  deleted: string[];
  failed: { replica: number; sessionId: string; message: string }[];
}

/** Deletes every session of a batch, a few at a time; reports each failure instead of stopping. */
export async function deleteBatch(
  client: SkahaClient,
  manifest: BatchManifest,
  options: { concurrency?: number; replicas?: number[] } = {},
): Promise<DeleteReport> {
  const wanted = options.replicas ? new Set(options.replicas) : undefined;
  const targets = manifest.replicas
    .filter((r) => !wanted || wanted.has(r.replica))
    .flatMap((r) =>
      r.launch?.state === 'launched' ? [{ replica: r.replica, sessionId: r.launch.sessionId }] : [],
    );
  const report: DeleteReport = { deleted: [], failed: [] };
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const target = targets[next++];
      try {
        await client.delete(target.sessionId);
        report.deleted.push(target.sessionId);
      } catch (error) {
        report.failed.push({ ...target, message: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, targets.length) }, worker));
  return report;
}

/**
 * "Delete batch": deletes every session of the batch, then records the deletion in its batch.json
 * (`deletedAt`) so that the panel and `canfar-lab batches` stop listing it. Nothing in the folder is
 * removed: the script, logs, status files and outputs are the user's results. When a session could not
 * be deleted the batch is not marked (`recorded` false): it stays listed, so that the user sees what
 * may still run and can try again.
 */
export async function deleteAndHideBatch(
  client: SkahaClient,
  store: BatchStore,
  folder: string,
  options: { concurrency?: number; now?: Date } = {},
): Promise<DeleteReport & { recorded: boolean; manifest: BatchManifest }> {
  const manifest = await readManifest(store, folder);
  const report = await deleteBatch(client, manifest, {
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  });
  if (report.failed.length > 0) return { ...report, recorded: false, manifest };
  return { ...report, recorded: true, manifest: await markBatchDeleted(store, folder, options.now) };
}

/**
 * Deletes the sessions of finished replicas whose log and events were already saved into the batch
 * folder (pass views from a monitor poll, which does the saving), freeing the platform early.
 */
export async function pruneFinished(client: SkahaClient, views: BatchView[]): Promise<string[]> {
  const pruned: string[] = [];
  for (const view of views) {
    for (const replica of view.replicas) {
      const status = replica.sessionStatus;
      const captured = view.manifest.replicas.find((r) => r.replica === replica.replica)?.observed?.captured;
      if (
        replica.sessionId &&
        (status === 'Completed' || status === 'Failed' || status === 'Error') &&
        captured
      ) {
        await client.delete(replica.sessionId);
        pruned.push(replica.sessionId);
      }
    }
  }
  return pruned;
}

/**
 * States that `rerun-failed` launches again: final outcomes only (a replica waiting in the queue, or
 * preempted and waiting to run again, is not failed; an image pull error keeps its session Pending:
 * delete it first).
 */
export const RERUN_STATES: ReadonlySet<ReplicaState> = UNSUCCESSFUL_STATES;

export function failedReplicas(view: BatchView): number[] {
  return view.replicas.filter((r) => RERUN_STATES.has(r.state)).map((r) => r.replica);
}

/**
 * The input of a re-run: the parent's image, resources, env, parameters, sweep and its script as it was
 * (not the notebook as it is now). Each replica keeps its identity (index, set, shard, name suffix), so
 * it redoes the same share of the data with the same values. `inPlace` ("re-run failed") launches the
 * given replicas again in the parent's own folder; otherwise a new batch id and folder.
 */
export async function rerunInput(
  store: BatchStore,
  folder: string,
  options: {
    replicaIds?: number[];
    env?: Record<string, string>;
    name?: string;
    user?: string;
    endpoint?: string;
    inPlace?: boolean;
  } = {},
): Promise<BatchInput> {
  const parent = await readManifest(store, folder);
  const script = await store.readText(joinPath(folder, parent.script.file));
  const combineScript = parent.combine
    ? await store.readText(joinPath(folder, parent.combine.file))
    : undefined;
  // A new batch folder goes beside the parent's: <notebook dir>/canfar-batches/<new id>.
  const notebookDir = notebookDirOf(folder);
  return {
    notebookPath: joinPath(notebookDir, basename(parent.notebook.path)),
    notebookText: '',
    replicas: parent.sweep ? parent.sweep.shards : parent.replicaCount,
    image: parent.image,
    ...parent.resources,
    ...(options.name && !options.inPlace ? { name: options.name } : {}),
    env: options.env ?? {},
    params: {},
    policy: parent.script.policy,
    ...((options.user ?? parent.user) ? { user: options.user ?? parent.user } : {}),
    ...((options.endpoint ?? parent.endpoint) ? { endpoint: options.endpoint ?? parent.endpoint } : {}),
    rerun: {
      parent,
      script,
      ...(combineScript !== undefined ? { combineScript } : {}),
      ...(options.replicaIds ? { replicaIds: options.replicaIds } : {}),
      ...(options.inPlace ? { inPlace: { folder } } : {}),
    },
  };
}

/** What `continueCanary` did. */
export type CanaryStep =
  | { action: 'none' | 'waiting' | 'taken' }
  | { action: 'unable'; message: string }
  | { action: 'stopped'; message: string }
  | { action: 'launched'; result: SubmitResult };

export interface CanaryOptions extends Pick<SubmitOptions, 'concurrency' | 'signal' | 'onProgress'> {
  /** The plan of the submission (it holds the env values batch.json does not: secrets). */
  plan?: BatchPlan;
  /** Secret env values to give again, when there is no plan (batch.json does not hold them). */
  env?: Record<string, string>;
}

/**
 * The launcher's step after a canary: once replica 1 completed with exit 0, launches the others (in the
 * same folder, each with its own identity); once it ended otherwise, records them cancelled with the
 * reason (phase `stopped`): nothing else is launched. An exclusive file (`canary.lock`) in the batch
 * folder makes sure that of several watchers (the CLI, the panel, a kernel) only one goes on. Without the
 * submission's plan, the rest is planned again from batch.json ('unable' when a secret env value is
 * needed and not given).
 */
export async function continueCanary(
  client: SkahaClient,
  store: BatchStore,
  view: BatchView,
  options: CanaryOptions = {},
): Promise<CanaryStep> {
  const canary = view.manifest.canary;
  if (!canary || canary.state !== 'waiting') return { action: 'none' };
  const first = view.replicas.find((r) => r.replica === canary.replica);
  if (!first || !TERMINAL_STATES.has(first.state)) return { action: 'waiting' };
  const rest = view.manifest.replicas
    .filter((r) => r.replica !== canary.replica && !r.launch)
    .map((r) => r.replica);
  const passed = first.state === 'completed';
  let plan = options.plan;
  if (passed && !plan && rest.length > 0) {
    try {
      plan = await planBatch(
        await rerunInput(store, view.folder, { replicaIds: rest, inPlace: true, env: options.env }),
        await fetchPlatformInfo(client, options.signal),
        store,
      );
    } catch (error) {
      if (error instanceof BatchPlanError) return { action: 'unable', message: error.message };
      throw error;
    }
  }
  try {
    await store.writeTextExclusive(joinPath(view.folder, 'canary.lock'), `${new Date().toISOString()}\n`);
  } catch (error) {
    if ((error as { code?: string }).code === 'exists') return { action: 'taken' };
    throw error;
  }
  const writer = new ManifestWriter(store, view.folder, await readManifest(store, view.folder));
  const at = new Date().toISOString();
  if (!passed) {
    const message = `the canary, replica ${canary.replica}, ${describeOutcome(first)}`;
    await writer.update((manifest) => {
      manifest.canary = { ...canary, state: 'failed', at, message };
      for (const record of manifest.replicas)
        if (record.replica !== canary.replica && !record.launch)
          record.launch = { state: 'cancelled', message: `not launched: ${message}`, at };
    });
    await writer.flush();
    return { action: 'stopped', message };
  }
  await writer.update((manifest) => {
    manifest.canary = { ...canary, state: 'passed', at };
  });
  const result = await submitBatch(plan!, {
    client,
    store,
    writer,
    ids: rest,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return { action: 'launched', result };
}

/** Why an action on a batch cannot go now: what is wrong and what to do. Nothing was written or launched. */
export class BatchActionError extends Error {
  readonly code = 'refused';
  constructor(message: string) {
    super(message);
    this.name = 'BatchActionError';
  }
}

/** What `rerunCombine` launched. */
export interface RerunCombineResult {
  /** The combine's attempt the session runs. */
  attempt: number;
  sessionId: string;
  name: string;
}

/** The session name of a combine re-run: `<batch name>-combine`, within the platform's 63 characters. */
export function combineSessionName(name: string): string {
  return `${name.slice(0, 63 - '-combine'.length).replace(/-+$/, '')}-combine`;
}

/**
 * "Re-run combine": once every replica completed and the combine failed (or its session ended before it
 * finished), launches ONE session, `<name>-combine`, in the batch's image with its resources and env, that
 * runs only the combine (run.sh with CANFAR_COMBINE_RERUN=<attempt>): combine script of the batch folder,
 * so a fix made to it there is what runs; its log appends to logs/combine.log. An exclusive file per
 * re-run (`combine-rerun-<n>.claim`) makes sure that of two tabs or users clicking together, one launches;
 * run.sh's own lock per attempt makes a duplicate session do nothing. Refused (BatchActionError, nothing
 * written) when there is nothing to re-run; BatchPlanError when a secret env value must be given again.
 */
export async function rerunCombine(
  client: SkahaClient,
  store: BatchStore,
  view: BatchView,
  options: { env?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<RerunCombineResult> {
  const { batchId, combine } = view;
  const declared = view.manifest.combine;
  if (!declared || !combine)
    throw new BatchActionError(
      `batch ${batchId} has no combine step: no cell of its notebook was tagged "combine" when it was submitted`,
    );
  const notCompleted = view.replicas.filter((r) => r.state !== 'completed');
  if (notCompleted.length > 0)
    throw new BatchActionError(
      `${notCompleted.length} of ${view.replicas.length} replica(s) of batch ${batchId} have not completed (${notCompleted
        .slice(0, 3)
        .map((r) => `${r.replica} ${r.state}`)
        .join(', ')}${notCompleted.length > 3 ? ', ...' : ''}): the combine runs once they all have. ${
        failedReplicas(view).length > 0
          ? `Re-run the failed ones first (batch rerun-failed ${batchId}); the last of them runs the combine.`
          : 'Wait for them.'
      }`,
    );
  if (combine.state === 'completed')
    throw new BatchActionError(
      `the combine of batch ${batchId} already completed with exit 0 (log ${combine.log}): nothing to re-run`,
    );
  if (combine.state === 'interrupted')
    throw new BatchActionError(
      `the combine of batch ${batchId} was ${combine.message ?? 'stopped'} (preempted): the platform runs it again in the session that ran it; wait for it`,
    );
  if (combine.state !== 'failed')
    throw new BatchActionError(
      `the combine of batch ${batchId} is ${combine.state}${combine.message ? ` (${combine.message})` : ''}: wait for it to end`,
    );
  const runSh = await store.readText(joinPath(view.folder, 'run.sh'));
  if (!runSh.includes('CANFAR_COMBINE_RERUN'))
    throw new BatchActionError(
      `batch ${batchId} was submitted by an older jupyterlab-canfar, whose run.sh cannot run the combine alone; run ${declared.file} of the batch folder by hand, from the notebook's folder, with CANFAR_BATCH_DIR=${store.absolutePath(view.folder)}`,
    );
  // The secrets check and the session's template (image, resources, env) are those of a re-run.
  const plan = await planBatch(
    await rerunInput(store, view.folder, { replicaIds: [1], inPlace: true, env: options.env }),
    await fetchPlatformInfo(client, options.signal),
    store,
  );
  const manifest = await readManifest(store, view.folder);
  const count = (manifest.combine?.rerun?.count ?? 0) + 1;
  try {
    await store.writeTextExclusive(
      joinPath(view.folder, `combine-rerun-${count}.claim`),
      `${new Date().toISOString()}\n`,
    );
  } catch (error) {
    if ((error as { code?: string }).code === 'exists')
      throw new BatchActionError(
        `the combine of batch ${batchId} is being re-run already (from another tab or terminal): see the batch's state`,
      );
    throw error;
  }
  const attempt = ((await readStatusFile(store, view.folder, 'combine'))?.attempt ?? 0) + 1;
  const name = combineSessionName(manifest.name);
  const writer = new ManifestWriter(store, view.folder, manifest);
  const at = new Date().toISOString();
  let sessionId: string;
  try {
    sessionId = await client.create(
      { ...plan.spec, name, env: { ...plan.spec.env, CANFAR_COMBINE_RERUN: String(attempt) } },
      { signal: options.signal },
    );
  } catch (error) {
    // The next re-run takes the next claim.
    const message = error instanceof Error ? error.message : String(error);
    await writer.update((m) => {
      if (m.combine) m.combine.rerun = { count, attempt, name, at, error: message };
    });
    await writer.flush();
    throw error;
  }
  await writer.update((m) => {
    if (m.combine) m.combine.rerun = { count, attempt, name, at, sessionId };
  });
  await writer.flush();
  return { attempt, sessionId, name };
}
