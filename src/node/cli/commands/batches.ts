import * as path from 'node:path';
import {
  BATCH_ID_PATTERN,
  BATCHES_FOLDER,
  combineRunner,
  oneLine,
  parameterColumns,
  pollBatches,
  setRows,
  stateText,
  undeletedBatchFolders,
} from '../../../batch';
import type { BatchView, ReplicaView } from '../../../batch';
import { parseCommandArgs } from '../args';
import type { Command, CommandIO } from '../command';
import { EXIT, withConnection } from '../context';
import { json, line, table } from '../output';
import { batchSummary, describeFailure, findBatches } from './batch-shared';

const usage = `Usage: canfar-lab batches [BATCH_ID] [NOTEBOOK_OR_DIR...] [--all] [--json]

List batches and the state of their replicas (one session list call for all of them). Batches are found
in ${BATCHES_FOLDER}/ of the current directory and of the folder of each NOTEBOOK (or DIR) given.
Finished replicas' platform logs and events are saved into their batch folder on the way, since the
platform deletes them an hour after a session ends.

With a BATCH_ID: one line per replica (its set and parameter values in a sweep, state, attempt, exit code,
duration, host, and why it failed), then the combine step. With --json, the batch's view with "sets": one
row per parameter set (its values as columns, its replicas' states, exit codes, attempts and log paths),
e.g. pandas.DataFrame(json.load(f)["sets"]).

Deleted batches (canfar-lab batch delete, or "Delete all" in JupyterLab) are not listed; their folders,
logs and outputs stay on disk. --all lists them too, marked "(deleted)".

Options:
  --all    list deleted batches too
  --json   the batches (or the batch) as JSON on stdout
`;

const options = { all: { type: 'boolean' } } as const;

const done = (v: BatchView) => v.counts.completed + v.counts.failed + v.counts.cancelled;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('batches', io.argv, options);
  const batchId = positionals.find((p) => BATCH_ID_PATTERN.test(p));
  const places = positionals.filter((p) => p !== batchId);
  const { store, folders } = await findBatches(io, places);
  // A batch asked for by id is shown even when deleted; a listing hides deleted ones unless --all.
  const selected = batchId
    ? folders.filter((f) => path.basename(f) === batchId)
    : values.all
      ? folders
      : await undeletedBatchFolders(store, folders);
  const hidden = folders.length - selected.length;
  const hiddenNote = `${hidden} deleted batch(es) not listed (--all lists them)`;
  if (batchId && selected.length === 0) {
    throw new Error(
      `batch ${batchId} not found in ${BATCHES_FOLDER}/ of ${[process.cwd(), ...places].join(', ')}`,
    );
  }
  if (selected.length === 0) {
    if (io.globals.json) json(io.stdout, []);
    else
      line(
        io.stderr,
        `No batches in ${path.join(process.cwd(), BATCHES_FOLDER)}${places.length ? ' or beside the notebooks given' : ''}${hidden && !batchId ? `; ${hiddenNote}` : ''}.`,
      );
    return EXIT.ok;
  }
  return withConnection(io, async ({ client }) => {
    const views = await pollBatches(client, store, selected);
    if (io.globals.json) {
      json(
        io.stdout,
        batchId
          ? { ...views[0], sets: setRows(views[0], store.absolutePath(views[0].folder)) }
          : views.map(({ manifest, ...rest }) =>
              manifest.deletedAt ? { ...rest, deletedAt: manifest.deletedAt } : rest,
            ),
      );
      return EXIT.ok;
    }
    if (!batchId) {
      io.stdout.write(
        table(views, [
          { header: 'BATCH', value: (v) => v.batchId },
          { header: 'NAME', value: (v) => (v.manifest.deletedAt ? `${v.name} (deleted)` : v.name) },
          { header: 'N', value: (v) => String(v.counts.total), right: true },
          {
            header: 'QUEUED',
            value: (v) => String(v.counts.queued + v.counts.requeued),
            right: true,
          },
          { header: 'PENDING', value: (v) => String(v.counts.pending + v.counts.launching), right: true },
          { header: 'RUNNING', value: (v) => String(v.counts.running), right: true },
          { header: 'DONE', value: (v) => `${done(v)}/${v.counts.total}`, right: true },
          { header: 'FAILED', value: (v) => String(v.counts.failed), right: true },
          {
            header: 'PHASE',
            value: (v) => `${v.phase}${v.combine ? ` (combine ${v.combine.state})` : ''}`,
          },
          { header: 'NOTEBOOK', value: (v) => v.manifest.notebook.path },
        ]),
      );
      if (hidden > 0) line(io.stderr, hiddenNote);
      return EXIT.ok;
    }
    const view = views[0];
    line(
      io.stdout,
      `batch ${view.batchId}  ${view.manifest.notebook.path}  image ${view.manifest.image}  submitted ${view.manifest.submittedAt}${view.manifest.deletedAt ? `  deleted ${view.manifest.deletedAt}` : ''}`,
    );
    line(io.stdout, `folder ${store.absolutePath(view.folder)}`);
    line(io.stdout, `${view.phase}: ${batchSummary(view)}`);
    const sweep = view.manifest.sweep;
    const params = parameterColumns(view);
    io.stdout.write(
      table(view.replicas, [
        { header: 'REPLICA', value: (r) => String(r.replica), right: true },
        ...(sweep
          ? [
              { header: 'SET', value: (r: ReplicaView) => String(r.set ?? ''), right: true },
              ...(sweep.shards > 1
                ? [{ header: 'SHARD', value: (r: ReplicaView) => String(r.shard ?? ''), right: true }]
                : []),
              ...params.map((name) => ({
                header: name,
                value: (r: ReplicaView) => oneLine(r.params?.[name] ?? '-', 24),
              })),
            ]
          : []),
        { header: 'NAME', value: (r) => r.name },
        { header: 'SESSION', value: (r) => r.sessionId ?? '-' },
        { header: 'STATE', value: stateText },
        { header: 'EXIT', value: (r) => (r.exitCode === undefined ? '-' : String(r.exitCode)), right: true },
        {
          header: 'TIME',
          value: (r) => (r.durationSeconds === undefined ? '-' : `${r.durationSeconds}s`),
          right: true,
        },
        { header: 'HOST', value: (r) => r.host ?? '-' },
        {
          header: 'DETAIL',
          value: (r) =>
            r.state === 'completed' ||
            r.state === 'running' ||
            r.state === 'pending' ||
            r.state === 'launching'
              ? (r.message ?? '')
              : r.state === 'queued' || r.state === 'requeued'
                ? (r.message ?? '')
                : describeFailure(r),
        },
      ]),
    );
    if (view.combine) {
      const c = view.combine;
      line(
        io.stdout,
        `combine: ${c.state}${combineRunner(c) !== undefined ? ` (run by ${combineRunner(c)}${c.attempt && c.attempt > 1 ? `, attempt ${c.attempt}` : ''})` : ''}${c.exitCode !== undefined ? `, exit ${c.exitCode}` : ''}${c.message ? `: ${c.message}` : ''}; log ${c.log}`,
      );
    }
    return EXIT.ok;
  });
}

export const batches: Command = {
  summary: 'list batches and the state of their replicas',
  usage,
  options,
  run,
};
