// What the batch verbs (submit, batches, batch) share: finding batch folders, printing plan problems,
// and following a batch until every replica has finished.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  BatchMonitor,
  BatchPlanError,
  BATCHES_FOLDER,
  listBatchFolders,
  readManifest,
  TERMINAL_STATES,
} from '../../../batch';
import type { BatchView, ManifestWriter, ReplicaView } from '../../../batch';
import type { SkahaClient } from '../../../skaha';
import { abortableSleep } from '../../../skaha/sleep';
import { NodeBatchStore } from '../../batch-store';
import type { CommandIO } from '../command';
import { EXIT } from '../context';
import { json, line } from '../output';

/**
 * Folders searched for `canfar-batches/<id>` (BATCHES_FOLDER): the current directory, plus the folder of every notebook
 * or directory given. Returns the store (rooted at `/`) and the batch folders found, newest first.
 */
export async function findBatches(
  io: CommandIO,
  places: string[],
): Promise<{ store: NodeBatchStore; folders: string[] }> {
  const store = new NodeBatchStore('/');
  const cwd = io.env.PWD && path.resolve(io.env.PWD) === process.cwd() ? io.env.PWD : process.cwd();
  const dirs = new Set<string>([path.resolve(cwd)]);
  for (const place of places) {
    const full = path.resolve(place);
    if (!existsSync(full))
      throw new Error(`${place}: no such notebook or folder (give a notebook, a folder, or a batch id)`);
    dirs.add(place.endsWith('.ipynb') ? path.dirname(full) : full);
  }
  const folders: string[] = [];
  for (const dir of dirs) folders.push(...(await listBatchFolders(store, dir)));
  return {
    store,
    folders: [...new Set(folders)].sort((a, b) => path.basename(b).localeCompare(path.basename(a))),
  };
}

export async function findBatch(
  io: CommandIO,
  batchId: string,
  places: string[],
): Promise<{ store: NodeBatchStore; folder: string }> {
  const { store, folders } = await findBatches(io, places);
  const folder = folders.find((f) => path.basename(f) === batchId);
  if (!folder) {
    throw new Error(
      `batch ${batchId} not found under ${[process.cwd(), ...places].map((p) => path.join(p, BATCHES_FOLDER)).join(', ')}; run the command from the notebook's folder or give the notebook with --dir`,
    );
  }
  return { store, folder };
}

/** Prints every problem of a refused plan; exit code 2 (bad input). */
export function reportPlanError(io: CommandIO, error: BatchPlanError): number {
  if (io.globals.json)
    json(io.stderr, { error: { code: error.code, message: error.message, problems: error.problems } });
  else line(io.stderr, `canfar-lab: ${error.message}`);
  return EXIT.usage;
}

export function describeFailure(replica: ReplicaView): string {
  const parts = [
    `replica ${replica.replica} (${replica.name}${replica.sessionId ? `, session ${replica.sessionId}` : ''})`,
  ];
  if (replica.state === 'launch-failed') parts.push(`was not launched: ${replica.message}`);
  else if (replica.state === 'cancelled') parts.push(`was not launched (cancelled)`);
  else if (replica.state === 'pull-error') parts.push(`cannot start: ${replica.message}`);
  else {
    const how =
      replica.exitCode !== undefined
        ? `failed with exit code ${replica.exitCode}${replica.signal ? ` (SIG${replica.signal})` : ''}`
        : 'failed';
    parts.push(how);
    if (replica.failure?.cell !== undefined) parts.push(`in cell ${replica.failure.cell}`);
    if (replica.failure?.error) parts.push(`: ${replica.failure.error}`);
    else if (replica.message) parts.push(`: ${replica.message}`);
  }
  return parts.join(' ').replace(/ :/g, ':');
}

const FAILED = new Set(['failed', 'launch-failed', 'lost', 'pull-error', 'cancelled']);

function summary(view: BatchView): string {
  const c = view.counts;
  const parts = [
    `${c.completed + c.failed + c.cancelled}/${c.total} done`,
    `${c.running} running`,
    `${c.pending + c.launching} pending`,
  ];
  if (c.failed) parts.push(`${c.failed} failed`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  return parts.join(', ');
}

/**
 * Follows one batch until every replica is terminal (or a pull error makes that impossible): a redrawn
 * line on a terminal, one line per change otherwise. Exit code 0 when every replica completed, else 1
 * after naming each failed replica (and, from its log, the cell that failed).
 */
export async function followBatch(
  io: CommandIO,
  client: SkahaClient,
  store: NodeBatchStore,
  folder: string,
  options: { writer?: ManifestWriter; intervalMs?: number } = {},
): Promise<number> {
  const monitor = new BatchMonitor({ client, store, pullCheckSeconds: 10 });
  await monitor.add(folder, options.writer?.current ?? (await readManifest(store, folder)), options.writer);
  const tty = Boolean(io.stderr.isTTY) && !io.globals.json;
  const seen = new Map<number, string>();
  let view: BatchView | undefined;
  try {
    for (;;) {
      [view] = await monitor.poll(io.signal);
      for (const replica of view.replicas) {
        const state = replica.state;
        if (seen.get(replica.replica) === state) continue;
        seen.set(replica.replica, state);
        if (io.globals.json) continue;
        if (tty) {
          // Failures are named as they happen, above the progress line.
          if (FAILED.has(state) && state !== 'cancelled') {
            io.stderr.write('\r\x1b[2K');
            line(io.stderr, describeFailure(replica));
          }
          continue;
        }
        if (state === 'completed')
          line(
            io.stdout,
            `replica ${replica.replica} completed${replica.durationSeconds !== undefined ? ` in ${replica.durationSeconds}s` : ''}`,
          );
        else if (FAILED.has(state)) line(io.stdout, describeFailure(replica));
        else if (state === 'running')
          line(io.stdout, `replica ${replica.replica} running${replica.host ? ` on ${replica.host}` : ''}`);
      }
      if (tty) {
        const c = view.counts;
        const done = c.completed + c.failed + c.cancelled;
        const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 60));
        const filled = Math.round((done / Math.max(1, c.total)) * width);
        io.stderr.write(
          `\r\x1b[2K${view.batchId} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${summary(view)}`,
        );
      }
      // An image that cannot be pulled keeps its replica Pending for days: that is an end as well.
      const stuck =
        view.counts.pullErrors > 0 &&
        view.replicas.every((r) => r.state === 'pull-error' || TERMINAL_STATES.has(r.state));
      if (view.done || stuck) break;
      await abortableSleep(options.intervalMs ?? 2000, io.signal);
    }
  } catch (error) {
    if (!io.signal.aborted) throw error;
  } finally {
    if (tty) io.stderr.write('\r\x1b[2K');
    await monitor.flush().catch(() => undefined);
  }
  if (!view) return EXIT.failed;
  if (io.signal.aborted) {
    line(
      io.stderr,
      `Stopped following ${view.batchId} (${summary(view)}); its replicas keep running. Watch again with \`canfar-lab batches ${view.batchId}\`.`,
    );
    return 130;
  }
  const failed = view.replicas.filter((r) => FAILED.has(r.state));
  if (io.globals.json)
    json(io.stdout, { batchId: view.batchId, folder, counts: view.counts, replicas: view.replicas });
  else line(io.stdout, `batch ${view.batchId}: ${summary(view)}`);
  if (failed.length > 0) {
    line(io.stderr, `${failed.length} of ${view.counts.total} replica(s) failed:`);
    for (const replica of failed) line(io.stderr, `  ${describeFailure(replica)}`);
    line(
      io.stderr,
      `Logs: ${path.join(store.absolutePath(folder), 'logs')}; re-run them with \`canfar-lab batch rerun-failed ${view.batchId}\`.`,
    );
    return EXIT.failed;
  }
  return EXIT.ok;
}

export { BatchPlanError };
