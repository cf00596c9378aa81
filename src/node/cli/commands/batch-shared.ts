// What the batch verbs (submit, batches, batch) share: finding batch folders, printing plan problems,
// and following a batch until every replica has finished.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import {
  BATCHES_FOLDER,
  BatchMonitor,
  BatchPlanError,
  combineRunner,
  continueCanary,
  describeOutcome,
  listBatchFolders,
  readManifest,
  TERMINAL_STATES,
  UNSUCCESSFUL_STATES,
} from '../../../batch';
import type { BatchPlan, BatchView, CombineView, ManifestWriter, ReplicaView } from '../../../batch';
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
  const who = `replica ${replica.replica} (${replica.name}${replica.sessionId ? `, session ${replica.sessionId}` : ''})`;
  return `${who} ${describeOutcome(replica)}`;
}

const FAILED = UNSUCCESSFUL_STATES;

/** "4/6 done, 1 running, 1 pending, 12 waiting in the platform's queue, combine waiting". */
export function batchSummary(view: BatchView): string {
  const c = view.counts;
  const parts = [
    `${c.completed + c.failed + c.cancelled}/${c.total} done`,
    `${c.running} running`,
    `${c.pending + c.launching} pending`,
  ];
  if (c.queued) parts.push(`${c.queued} waiting in the platform's queue`);
  if (c.requeued) parts.push(`${c.requeued} requeued after preemption`);
  if (c.failed)
    parts.push(`${c.failed} failed${c.outputMissing ? ` (${c.outputMissing} with output missing)` : ''}`);
  if (c.cancelled) parts.push(`${c.cancelled} cancelled`);
  if (view.phase === 'canary')
    parts.unshift(`canary: replica ${view.manifest.canary?.replica ?? 1} runs alone`);
  if (view.combine) parts.push(`combine ${view.combine.state}`);
  return parts.join(', ');
}

/** One line about a replica's new state (non-TTY progress), or undefined for states not worth a line. */
function changeLine(replica: ReplicaView): string | undefined {
  const attempt = replica.attempt && replica.attempt > 1 ? ` (attempt ${replica.attempt})` : '';
  switch (replica.state) {
    case 'completed':
      return `replica ${replica.replica} completed${replica.durationSeconds !== undefined ? ` in ${replica.durationSeconds}s` : ''}${attempt}`;
    case 'running':
      return `replica ${replica.replica} running${replica.host ? ` on ${replica.host}` : ''}${attempt}`;
    case 'queued':
      return `replica ${replica.replica} queued: ${replica.message}`;
    case 'requeued':
      return `replica ${replica.replica} requeued: ${replica.message}`;
    default:
      return FAILED.has(replica.state) ? describeFailure(replica) : undefined;
  }
}

function combineLine(combine: CombineView): string {
  switch (combine.state) {
    case 'running':
      return `combine running (${combineRunner(combine) ?? 'starting'}${combine.attempt && combine.attempt > 1 ? `, attempt ${combine.attempt}` : ''})`;
    case 'completed':
      return `combine completed (run by ${combineRunner(combine) ?? '?'}; log ${combine.log})`;
    case 'failed':
      return `combine failed${combine.exitCode !== undefined ? ` with exit code ${combine.exitCode}` : ''}${combine.message ? `: ${combine.message}` : ''} (log ${combine.log})`;
    default:
      return `combine ${combine.state}${combine.message ? `: ${combine.message}` : ''}`;
  }
}

export interface FollowOptions {
  writer?: ManifestWriter;
  intervalMs?: number;
  /** The submission's plan: with a canary, the rest is launched from it (it holds secret env values). */
  plan?: BatchPlan;
  concurrency?: number;
  /** Stop once the batch is launched (past its canary): `submit --canary` without --follow. */
  untilLaunched?: boolean;
}

/**
 * Follows one batch until every replica is terminal and its combine step has run (or a pull error makes
 * that impossible): a redrawn line on a terminal, one line per change otherwise. With a canary, launches
 * the other replicas once it completed (or stops the batch when it failed). Exit code 0 when every
 * replica and the combine completed, else 1 after naming each failed replica (and, from its log, the
 * cell that failed).
 */
export async function followBatch(
  io: CommandIO,
  client: SkahaClient,
  store: NodeBatchStore,
  folder: string,
  options: FollowOptions = {},
): Promise<number> {
  const monitor = new BatchMonitor({ client, store, pullCheckSeconds: 10 });
  await monitor.add(folder, options.writer?.current ?? (await readManifest(store, folder)), options.writer);
  const tty = Boolean(io.stderr.isTTY) && !io.globals.json;
  const seen = new Map<number, string>();
  let seenCombine = '';
  let seenPhase = '';
  let view: BatchView | undefined;
  let problem: string | undefined;
  const say = (text: string) => {
    if (io.globals.json) return;
    if (tty) io.stderr.write('\r\x1b[2K');
    line(tty ? io.stderr : io.stdout, text);
  };
  try {
    for (;;) {
      [view] = await monitor.poll(io.signal);
      if (view.phase !== seenPhase) {
        seenPhase = view.phase;
        if (view.phase === 'canary')
          say(
            `canary: replica ${view.manifest.canary?.replica ?? 1} runs alone; the other ${view.counts.total - 1} are launched once it completed with exit 0`,
          );
      }
      for (const replica of view.replicas) {
        const key = `${replica.state}:${replica.attempt ?? ''}`;
        if (seen.get(replica.replica) === key) continue;
        seen.set(replica.replica, key);
        // On a terminal only failures are named, above the progress line.
        const text = tty
          ? FAILED.has(replica.state) && replica.state !== 'cancelled'
            ? describeFailure(replica)
            : undefined
          : changeLine(replica);
        if (text) say(text);
      }
      if (view.combine && view.combine.state !== seenCombine) {
        seenCombine = view.combine.state;
        if (view.combine.state !== 'waiting' || !tty) say(combineLine(view.combine));
      }
      if (view.phase === 'canary') {
        const step = await continueCanary(client, store, view, {
          ...(options.plan ? { plan: options.plan } : {}),
          ...(options.concurrency ? { concurrency: options.concurrency } : {}),
          signal: io.signal,
        });
        if (step.action === 'launched') {
          say(
            `canary completed: launched ${step.result.launched} more replica(s)${step.result.failed ? `, ${step.result.failed} failed to launch` : ''}`,
          );
          monitor.reset(view.batchId);
          continue;
        }
        if (step.action === 'stopped') {
          say(`batch stopped: ${step.message}; nothing else was launched`);
          continue;
        }
        if (step.action === 'unable') {
          problem = `the other replicas cannot be launched from here: ${step.message}`;
          break;
        }
      }
      if (tty) {
        const c = view.counts;
        const done = c.completed + c.failed + c.cancelled;
        const width = Math.max(10, Math.min(40, (io.stderr.columns ?? 80) - 60));
        const filled = Math.round((done / Math.max(1, c.total)) * width);
        io.stderr.write(
          `\r\x1b[2K${view.batchId} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${batchSummary(view)}`,
        );
      }
      if (options.untilLaunched && view.phase !== 'canary' && view.phase !== 'launching') break;
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
      `Stopped following ${view.batchId} (${batchSummary(view)}); its replicas keep running. Watch again with \`canfar-lab batches ${view.batchId}\`.`,
    );
    return 130;
  }
  if (problem) {
    line(io.stderr, `batch ${view.batchId}: ${problem}`);
    return EXIT.failed;
  }
  if (options.untilLaunched && !view.done) {
    const stopped = view.phase === 'stopped';
    if (io.globals.json)
      json(io.stdout, { batchId: view.batchId, folder, phase: view.phase, counts: view.counts });
    else
      line(
        io.stdout,
        `batch ${view.batchId}: ${stopped ? 'stopped by its canary' : 'launched'} (${batchSummary(view)})`,
      );
    if (!stopped) return EXIT.ok;
  }
  const failed = view.replicas.filter((r) => FAILED.has(r.state));
  if (io.globals.json)
    json(io.stdout, {
      batchId: view.batchId,
      folder,
      phase: view.phase,
      counts: view.counts,
      ...(view.combine ? { combine: view.combine } : {}),
      replicas: view.replicas,
    });
  else line(io.stdout, `batch ${view.batchId}: ${batchSummary(view)}`);
  const combineFailed =
    view.combine && (view.combine.state === 'failed' || view.combine.state === 'interrupted');
  if (failed.length > 0) {
    if (view.phase === 'stopped')
      line(
        io.stderr,
        `The canary failed, so nothing else was launched: ${view.manifest.canary?.message ?? ''}`,
      );
    const notCancelled = failed.filter((r) => r.state !== 'cancelled' || view!.phase !== 'stopped');
    line(io.stderr, `${notCancelled.length} of ${view.counts.total} replica(s) failed:`);
    for (const replica of notCancelled) line(io.stderr, `  ${describeFailure(replica)}`);
    line(
      io.stderr,
      `Logs: ${path.join(store.absolutePath(folder), 'logs')}; re-run them with \`canfar-lab batch rerun-failed ${view.batchId}\`.`,
    );
    if (view.combine?.state === 'skipped')
      line(io.stderr, `The combine step did not run: ${view.combine.message}`);
    return EXIT.failed;
  }
  if (combineFailed) {
    line(
      io.stderr,
      `${combineLine(view.combine!)}: ${path.join(store.absolutePath(folder), view.combine!.log)}`,
    );
    return EXIT.failed;
  }
  return EXIT.ok;
}

export { BatchPlanError };
