import {
  BatchActionError,
  BatchPlanError,
  BATCHES_FOLDER,
  deleteAndHideBatch,
  deleteReplica,
  failedReplicas,
  fetchPlatformInfo,
  planBatch,
  pollBatches,
  pruneFinished,
  readManifest,
  rerunCombine,
  rerunInput,
  submitBatch,
} from '../../../batch';
import { integerOption, keyValueOptions, parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { EXIT, withConnection } from '../context';
import { json, line } from '../output';
import { confirm, interactive } from '../prompt';
import { findBatch, followBatch, reportPlanError } from './batch-shared';

const usage = `Usage: canfar-lab batch ACTION BATCH_ID [OPTIONS]

Act on a batch found in ${BATCHES_FOLDER}/ of the current directory (or of --dir).

Actions:
  delete BATCH_ID         delete every session of the batch (-f on a non-terminal) and stop listing it (its
                          folder, logs and outputs stay; batches --all lists it); --replica I: only replica I
  prune BATCH_ID          delete the sessions of finished replicas, after saving their logs and events
  rerun BATCH_ID          run the batch again: same script, image, resources, env, parameters and sweep
                          (each replica keeps its set and shard), new batch id
  rerun-failed BATCH_ID   run again, IN THE SAME batch folder, only the replicas whose final outcome is not a
                          success (failed, lost, output missing, never launched), each with its own identity
                          (set, shard, REPLICA_ID, REPLICA_COUNT), so each redoes the same share of the data;
                          their logs append a new attempt, and the combine step runs once they all completed
  rerun-combine BATCH_ID  run the combine step again, once every replica completed and the combine failed:
                          one session (<name>-combine) runs the batch folder's combine script (fix it there
                          first), its log appended to logs/combine.log

Options:
      --dir DIR           where to look for ${BATCHES_FOLDER}/ (repeatable; default: the current directory)
      --replica I         with delete: one replica only
  -e, --env KEY=VALUE     with rerun*: env values to give again (secret values are never stored)
      --concurrency C     with rerun*: session creations in flight (default 32)
      --follow            with rerun*: wait for the replicas (and the combine) to finish (exit 1 if one failed)
      --interval S        seconds between polls with --follow (default 2)
  -f, --force             do not ask before deleting
      --json              results as JSON
`;

const options = {
  dir: { type: 'string', multiple: true },
  replica: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  concurrency: { type: 'string' },
  follow: { type: 'boolean' },
  interval: { type: 'string' },
  force: { type: 'boolean', short: 'f' },
} as const;

const ACTIONS = ['delete', 'prune', 'rerun', 'rerun-failed', 'rerun-combine'];

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('batch', io.argv, options);
  const [action, batchId, ...extra] = positionals;
  if (!action || !ACTIONS.includes(action))
    throw new UsageError(`batch needs an action: ${ACTIONS.join(', ')}`, 'batch');
  if (!batchId || extra.length > 0) throw new UsageError(`batch ${action} takes one BATCH_ID`, 'batch');
  const dirs = (values.dir as string[] | undefined) ?? [];
  const { store, folder } = await findBatch(io, batchId, dirs);
  const manifest = await readManifest(store, folder);
  const replica = integerOption('--replica', values.replica, 'batch', 1);

  return withConnection(io, async (connection) => {
    const { client } = connection;
    if (action === 'delete') {
      if (!values.force) {
        if (!interactive(io))
          throw new UsageError('refusing to delete without confirmation: not a terminal; add -f', 'batch');
        const what = replica
          ? `replica ${replica} of batch ${batchId}`
          : `all ${manifest.replicas.length} replica session(s) of batch ${batchId}`;
        if (!(await confirm(io, `Delete ${what}?`))) {
          line(io.stderr, 'Nothing deleted.');
          return EXIT.failed;
        }
      }
      if (replica !== undefined) {
        const id = await deleteReplica(client, manifest, replica);
        if (io.globals.json) json(io.stdout, { deleted: [id], failed: [] });
        else line(io.stdout, `deleted replica ${replica} (session ${id})`);
        return EXIT.ok;
      }
      // The sessions go and batch.json records the deletion (batches no longer lists it); the folder stays.
      const { manifest: _m, ...report } = await deleteAndHideBatch(client, store, folder);
      if (io.globals.json) json(io.stdout, report);
      else {
        line(io.stdout, `deleted ${report.deleted.length} session(s) of batch ${batchId}`);
        for (const failure of report.failed)
          line(io.stderr, `replica ${failure.replica} (session ${failure.sessionId}): ${failure.message}`);
        line(
          io.stdout,
          report.recorded
            ? `batch ${batchId} is no longer listed (batches --all lists it); its folder stays: ${store.absolutePath(folder)}`
            : `batch ${batchId} stays listed until every session is deleted: run the command again`,
        );
      }
      return report.failed.length > 0 ? EXIT.failed : EXIT.ok;
    }

    if (action === 'prune') {
      // The first poll saves the logs of finished replicas; prune only deletes what was saved.
      await pollBatches(client, store, [folder]);
      const pruned = await pruneFinished(client, await pollBatches(client, store, [folder]));
      if (io.globals.json) json(io.stdout, { pruned });
      else
        line(
          io.stdout,
          `deleted ${pruned.length} finished session(s) of batch ${batchId} (their logs are in ${store.absolutePath(folder)}/logs)`,
        );
      return EXIT.ok;
    }

    const interval = values.interval === undefined ? 2 : Number(values.interval);
    const follow = () =>
      followBatch(io, client, store, folder, { intervalMs: (interval > 0 ? interval : 2) * 1000 });

    if (action === 'rerun-combine') {
      const [view] = await pollBatches(client, store, [folder]);
      let launched;
      try {
        launched = await rerunCombine(client, store, view, {
          env: keyValueOptions('--env', values.env, 'batch') ?? {},
          signal: io.signal,
        });
      } catch (error) {
        if (error instanceof BatchPlanError) return reportPlanError(io, error);
        if (!(error instanceof BatchActionError)) throw error;
        if (io.globals.json) json(io.stderr, { error: { code: error.code, message: error.message } });
        else line(io.stderr, `canfar-lab batch rerun-combine: ${error.message}`);
        return EXIT.failed;
      }
      if (io.globals.json && !values.follow) json(io.stdout, { batchId, ...launched });
      else if (!io.globals.json)
        line(
          io.stdout,
          `batch ${batchId}: the combine runs again (attempt ${launched.attempt}) in session ${launched.sessionId} (${launched.name}); its log: ${store.absolutePath(folder)}/logs/combine.log`,
        );
      return values.follow ? follow() : EXIT.ok;
    }

    let replicaIds: number[] | undefined;
    const inPlace = action === 'rerun-failed';
    if (inPlace) {
      const [view] = await pollBatches(client, store, [folder]);
      replicaIds = failedReplicas(view);
      if (replicaIds.length === 0) {
        const c = view.counts;
        line(
          io.stderr,
          `batch ${batchId} has no failed replica (${c.completed} completed, ${c.running + c.pending + c.launching} still running or pending, ${c.queued + c.requeued} waiting in the platform's queue)`,
        );
        return EXIT.ok;
      }
    }
    const input = await rerunInput(store, folder, {
      ...(replicaIds ? { replicaIds } : {}),
      inPlace,
      env: keyValueOptions('--env', values.env, 'batch') ?? {},
      ...(io.env.USER ? { user: io.env.USER } : {}),
      endpoint: connection.baseUrl,
    });
    let plan;
    try {
      plan = await planBatch(input, await fetchPlatformInfo(client, io.signal), store);
    } catch (error) {
      if (error instanceof BatchPlanError) return reportPlanError(io, error);
      throw error;
    }
    const result = await submitBatch(plan, {
      client,
      store,
      concurrency: integerOption('--concurrency', values.concurrency, 'batch', 1) ?? 32,
      signal: io.signal,
    });
    if (io.globals.json && !values.follow)
      json(io.stdout, {
        batchId: result.batchId,
        ...(inPlace ? { inPlace: true } : { parent: batchId }),
        folder: store.absolutePath(result.folder),
        launched: result.launched,
        failed: result.failed,
        replicaIds: plan.replicaIds,
      });
    else if (!io.globals.json) {
      line(
        io.stdout,
        inPlace
          ? `batch ${batchId}: replica(s) ${plan.replicaIds.join(',')} launched again in the same folder: ${result.launched}/${plan.replicaIds.length} launched`
          : `batch ${result.batchId} (re-run of ${batchId}): ${result.launched}/${plan.replicaIds.length} launched`,
      );
      line(io.stdout, `folder ${store.absolutePath(result.folder)}`);
    }
    if (!values.follow) return result.failed + result.cancelled > 0 ? EXIT.failed : EXIT.ok;
    return followBatch(io, client, store, result.folder, {
      intervalMs: (interval > 0 ? interval : 2) * 1000,
    });
  });
}

export const batch: Command = {
  options,
  summary: 'delete, prune or re-run a batch (or only its failed replicas, or its combine step)',
  usage,
  run,
};
