import type { SkahaClient } from '../skaha';
import { markBatchDeleted, readManifest } from './manifest';
import type { BatchView, ReplicaState } from './monitor';
import { notebookDirOf } from './paths';
import type { BatchStore } from './store';
import { basename, joinPath } from './store';
import type { BatchInput, BatchManifest } from './types';

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

/** States that `rerun-failed` launches again. */
export const RERUN_STATES: ReadonlySet<ReplicaState> = new Set([
  'failed',
  'launch-failed',
  'cancelled',
  'lost',
  'pull-error',
]);

export function failedReplicas(view: BatchView): number[] {
  return view.replicas.filter((r) => RERUN_STATES.has(r.state)).map((r) => r.replica);
}

/**
 * The input of a re-run: the parent's image, resources, env, parameters and its script as it was
 * (not the notebook as it is now), under a new batch id. With `replicaIds`, only those replicas run,
 * with their own REPLICA_ID values and the parent's REPLICA_COUNT, so each takes the same share of the data.
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
  } = {},
): Promise<BatchInput> {
  const parent = await readManifest(store, folder);
  const script = await store.readText(joinPath(folder, parent.script.file));
  // The new batch folder goes beside the parent's: <notebook dir>/canfar-batches/<new id>.
  const notebookDir = notebookDirOf(folder);
  return {
    notebookPath: joinPath(notebookDir, basename(parent.notebook.path)),
    notebookText: '',
    replicas: parent.replicaCount,
    image: parent.image,
    ...parent.resources,
    ...(options.name ? { name: options.name } : {}),
    env: options.env ?? {},
    params: {},
    policy: parent.script.policy,
    ...((options.user ?? parent.user) ? { user: options.user ?? parent.user } : {}),
    ...((options.endpoint ?? parent.endpoint) ? { endpoint: options.endpoint ?? parent.endpoint } : {}),
    rerun: { parent, script, ...(options.replicaIds ? { replicaIds: options.replicaIds } : {}) },
  };
}
