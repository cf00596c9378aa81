// The notebook commands: typed async functions over one cached connection, for JavaScript/TypeScript
// kernels (Deno, tslab, ijavascript) and plain node scripts. What the CLI verbs do, returning values that
// render as tables (results.ts) instead of printing.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  BATCH_FOLDER_TO_NOTEBOOK_DIR,
  BatchMonitor,
  BATCHES_FOLDER,
  continueCanary,
  DEFAULT_BATCH_IMAGE,
  deleteAndHideBatch,
  deleteBatch as deleteBatchSessions,
  fetchPlatformInfo,
  listBatchFolders,
  planBatch,
  pollBatches,
  readManifest,
  submitBatch,
  TERMINAL_STATES,
  undeletedBatchFolders,
} from '../../batch';
import type { BatchInput, BatchPlan, BatchView } from '../../batch';
import { createReplicas, followLog, validateSessionSpec } from '../../skaha';
import { abortableSleep } from '../../skaha/sleep';
import type { ReplicaOutcome, SessionKind, SessionSpec, SessionStatus } from '../../skaha';
import { NodeBatchStore } from '../batch-store';
import { connect, type Connection } from '../connect';
import { liveDisplay } from './display';
import {
  BatchStatus,
  BatchTable,
  DeleteResult,
  EventTable,
  LaunchResult,
  LogText,
  SessionTable,
  StatsView,
  SubmittedBatch,
} from './results';

/** The image `submit()` uses when none is given (as the CLI). */
export { DEFAULT_BATCH_IMAGE };

/** Where and as whom the commands connect; every field optional (found as the CLI finds them). */
export interface CanfarSettings {
  /** A Skaha URL, `canfar` or `local`. Default: `CANFAR_URL`, then `~/.canfar/config.yaml`, then `local`. */
  url?: string;
  /** Bearer token (default: `CANFAR_TOKEN`, the config file, ...). */
  token?: string;
  /** PEM file with certificate and key (default: `CANFAR_CERTIFICATE`, `~/.ssl/cadcproxy.pem`). */
  certificate?: string;
  /** The local server's state directory (for `local`). */
  stateDir?: string;
  /** Per-request deadline in ms (default `CANFAR_TIMEOUT` or 30 s). */
  timeoutMs?: number;
  /** Folders searched for `canfar-batches/` (BATCHES_FOLDER) besides the current directory. */
  dirs?: string[];
}

let settings: CanfarSettings = {};
let current: Promise<Connection> | undefined;
let exitHook = false;
/** Batches submitted by this process: id -> absolute folder. */
const submitted = new Map<string, string>();
/** Their plans, for a canary's continuation (the plan holds env values batch.json does not store). */
const plans = new Map<string, BatchPlan>();

/**
 * Sets the endpoint and credentials for the next commands (closing the current connection).
 * `configure({})` goes back to finding them as the CLI does.
 */
export async function configure(options: CanfarSettings): Promise<void> {
  settings = { ...options };
  await disconnect();
}

/** The cached connection, made on first use and closed when the process exits. */
export function connection(): Promise<Connection> {
  if (!current) {
    const attempt = connect({
      url: settings.url,
      token: settings.token,
      certificate: settings.certificate,
      stateDir: settings.stateDir,
      timeoutMs: settings.timeoutMs,
    });
    current = attempt;
    // A failed attempt is not cached: fixing the configuration (or starting the server) and retrying works.
    attempt.catch(() => {
      if (current === attempt) current = undefined;
    });
    if (!exitHook) {
      exitHook = true;
      // Keep-alive sockets must not hold a finished script open; 'beforeExit' allows async work.
      process.once('beforeExit', () => void disconnect());
    }
  }
  return current;
}

/** Closes the cached connection (the next command opens a new one). */
export async function disconnect(): Promise<void> {
  const closing = current;
  current = undefined;
  if (closing) await (await closing.catch(() => undefined))?.close();
}

/** `canfar-lab ps`: the caller's sessions, optionally of one kind or status. */
export async function sessions(
  filter: { kind?: SessionKind; status?: SessionStatus } = {},
): Promise<SessionTable> {
  const { client } = await connection();
  const list = await client.list({
    ...(filter.kind ? { type: filter.kind } : {}),
    ...(filter.status ? { status: filter.status } : {}),
  });
  return SessionTable.list(list);
}

export interface LaunchOptions {
  image: string;
  /** Session name (replica i of N is `<name>-<i>`); default `<kind>-<6 hex>`. */
  name?: string;
  /** Default 'headless'. */
  kind?: SessionKind;
  cores?: number;
  /** RAM in GB. */
  ram?: number;
  gpus?: number;
  env?: Record<string, string>;
  /** The command replacing the image's entrypoint (headless), and its arguments (no spaces inside one). */
  cmd?: string;
  args?: string[];
  /** Number of replicas, each with REPLICA_ID=i and REPLICA_COUNT=N (default 1). */
  replicas?: number;
  /** Session creations in flight at once (default 32). */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * `canfar-lab create`: one session, or N replicas of it. The spec is checked against the service's
 * `/context` and `/repository` first, so a bad value fails before replica 1, not at replica 37.
 */
export async function launch(options: LaunchOptions): Promise<LaunchResult> {
  const kind = options.kind ?? 'headless';
  const replicas = options.replicas ?? 1;
  const spec: SessionSpec = {
    name: options.name ?? `${kind}-${randomBytes(3).toString('hex')}`,
    image: options.image,
    kind,
    ...(options.cores !== undefined ? { cores: options.cores } : {}),
    ...(options.ram !== undefined ? { ram: options.ram } : {}),
    ...(options.gpus !== undefined ? { gpus: options.gpus } : {}),
    ...(options.env ? { env: options.env } : {}),
    ...(options.cmd !== undefined ? { cmd: options.cmd } : {}),
    ...(options.args?.length ? { args: options.args } : {}),
  };
  validateSessionSpec(spec, { replicas });
  const { client } = await connection();
  const [context, repositories] = await Promise.all([client.context(), client.repositories()]);
  validateSessionSpec(spec, { context, repositories, replicas });
  const outcomes = await createReplicas(client, spec, replicas, {
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return LaunchResult.list(outcomes);
}

/**
 * `submit()`'s options: the batch library's own fields (BatchInput, same meaning, passed on as they are),
 * the image optional, plus how to launch.
 */
export interface BatchOptions extends Pick<
  BatchInput,
  'name' | 'cores' | 'ram' | 'gpus' | 'env' | 'params' | 'policy' | 'sweep' | 'canary' | 'expect'
> {
  /**
   * Number of replicas (1..512); with a `sweep`, the shards per parameter set (default 1), for S x R
   * sessions in all.
   */
  replicas?: number;
  /** Default: `images.canfar.net/skaha/astroml:latest`. */
  image?: string;
  /** Session creations in flight at once (default 32). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** The store root and the notebook's path in it: the current directory when it holds the notebook. */
function notebookPlace(notebook: string): { root: string; notebookPath: string } {
  const full = path.resolve(notebook);
  const relative = path.relative(process.cwd(), full);
  if (!relative.startsWith('..') && !path.isAbsolute(relative))
    return { root: process.cwd(), notebookPath: relative.split(path.sep).join('/') };
  return { root: path.dirname(full), notebookPath: path.basename(full) };
}

/**
 * `canfar-lab submit`: runs a notebook as N headless replicas (a batch). The batch folder
 * (`canfar-batches/<id>/` beside the notebook) holds the script, run.sh, batch.json, logs and status
 * files. Every problem of the input is reported at once (BatchPlanError) before anything is written.
 */
export async function submit(notebookPath: string, options: BatchOptions): Promise<SubmittedBatch> {
  let text: string;
  try {
    text = await readFile(notebookPath, 'utf8');
  } catch (error) {
    throw new Error(
      `cannot read the notebook ${notebookPath} (from ${process.cwd()}): ${(error as Error).message}`,
    );
  }
  const { root, notebookPath: relative } = notebookPlace(notebookPath);
  const store = new NodeBatchStore(root);
  const { client, baseUrl } = await connection();
  const input: BatchInput = {
    notebookPath: relative,
    notebookText: text,
    replicas: options.replicas ?? (options.sweep ? 1 : NaN),
    image: options.image ?? DEFAULT_BATCH_IMAGE,
    ...(options.sweep ? { sweep: options.sweep } : {}),
    ...(options.canary ? { canary: true } : {}),
    ...(options.expect ? { expect: options.expect } : {}),
    ...(options.name ? { name: options.name } : {}),
    ...(options.cores !== undefined ? { cores: options.cores } : {}),
    ...(options.ram !== undefined ? { ram: options.ram } : {}),
    ...(options.gpus !== undefined ? { gpus: options.gpus } : {}),
    env: options.env ?? {},
    params: options.params ?? {},
    policy: options.policy ?? 'translate',
    endpoint: baseUrl,
    ...(process.env.USER ? { user: process.env.USER } : {}),
  };
  const plan = await planBatch(input, await fetchPlatformInfo(client, options.signal), store);
  const result = await submitBatch(plan, {
    client,
    store,
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const folder = store.absolutePath(result.folder);
  submitted.set(result.batchId, folder);
  if (plan.manifest.canary) plans.set(result.batchId, plan);
  const outcomes = LaunchResult.list(
    result.manifest.replicas.map((r): ReplicaOutcome =>
      r.launch?.state === 'launched'
        ? {
            replica: r.replica,
            name: r.name,
            ok: true,
            sessionId: r.launch.sessionId,
            attempts: r.launch.attempts,
            ...(r.launch.reconciled ? { reconciled: true } : {}),
          }
        : {
            replica: r.replica,
            name: r.name,
            ok: false,
            code: r.launch?.state === 'failed' ? r.launch.code : 'cancelled',
            message: r.launch && 'message' in r.launch ? r.launch.message : 'not launched',
            attempts: r.launch?.state === 'failed' ? r.launch.attempts : 0,
          },
    ),
  );
  return new SubmittedBatch(
    result.batchId,
    folder,
    result.launched,
    result.failed,
    result.cancelled,
    outcomes,
    plan.warnings,
  );
}

// The monitor reads and writes batch folders by absolute path.
const rootStore = () => new NodeBatchStore('/');

/** Batch folders (absolute, newest first) in the current directory, the configured dirs and those submitted here. */
async function batchFolders(extra: string[] = []): Promise<string[]> {
  const store = rootStore();
  const dirs = new Set([process.cwd(), ...(settings.dirs ?? []), ...extra].map((d) => path.resolve(d)));
  for (const folder of submitted.values()) dirs.add(path.resolve(folder, BATCH_FOLDER_TO_NOTEBOOK_DIR));
  const folders = new Set<string>();
  for (const dir of dirs) for (const folder of await listBatchFolders(store, dir)) folders.add(folder);
  return [...folders].sort((a, b) => path.basename(b).localeCompare(path.basename(a)));
}

async function batchFolder(batch: string | { batchId: string }): Promise<string> {
  const batchId = typeof batch === 'string' ? batch : batch.batchId;
  const known = submitted.get(batchId);
  if (known) return known;
  const found = (await batchFolders()).find((folder) => path.basename(folder) === batchId);
  if (!found) {
    const places = [process.cwd(), ...(settings.dirs ?? [])].map((d) => path.join(d, BATCHES_FOLDER));
    throw new Error(
      `batch ${JSON.stringify(batchId)} not found in ${places.join(', ')}; run from the notebook's folder or add it with configure({ dirs: [...] })`,
    );
  }
  return found;
}

/**
 * `canfar-lab batches`: every batch found, with k/N counts (one session listing for all of them).
 * Deleted batches (`deleteBatch`, the panel's "Delete all") are left out unless `all` is true.
 */
export async function batches(options: { dirs?: string[]; all?: boolean } = {}): Promise<BatchTable> {
  const found = await batchFolders(options.dirs);
  const folders = options.all ? found : await undeletedBatchFolders(rootStore(), found);
  if (folders.length === 0) return BatchTable.list([]);
  const { client } = await connection();
  const views = await pollBatches(client, rootStore(), folders);
  return BatchTable.list(views.map((view) => new BatchStatus(view, view.folder)));
}

/** One batch's state now, replica by replica. */
export async function batch(id: string | { batchId: string }): Promise<BatchStatus> {
  const folder = await batchFolder(id);
  const { client } = await connection();
  const [view] = await pollBatches(client, rootStore(), [folder]);
  return new BatchStatus(view, folder);
}

export interface WatchOptions {
  /** Between polls (default 2000 ms). */
  intervalMs?: number;
  /** Stop watching after this long (the batch keeps running). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Where a plain node process prints one line per change (default: stdout). */
  print?: (line: string) => void;
}

/** The plan with its folder as the root store (`/`) sees it (the watch reads batches by absolute path). */
function rebase(plan: BatchPlan, absoluteFolder: string): BatchPlan {
  return { ...plan, folder: absoluteFolder.replace(/^\/+/, '') };
}

/**
 * Follows a batch until every replica has finished: in a kernel, one status table updated in place
 * (display id); in plain node, a line each time the counts change. Resolves to the final status (which
 * renders as one line when the table was shown live, so it is not shown twice). Finished replicas' logs
 * and events are saved into the batch folder on the way, as by `canfar-lab batches`.
 */
export async function watch(
  id: string | { batchId: string },
  options: WatchOptions = {},
): Promise<BatchStatus> {
  const folder = await batchFolder(id);
  const { client } = await connection();
  const monitor = new BatchMonitor({ client, store: rootStore(), pullCheckSeconds: 10 });
  await monitor.add(folder);
  const live = liveDisplay();
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const deadline = options.timeoutMs !== undefined ? Date.now() + options.timeoutMs : Infinity;
  let status: BatchStatus;
  let shown = false;
  let lastLine = '';
  try {
    for (;;) {
      let [view]: BatchView[] = await monitor.poll(options.signal);
      // A canary: this watcher launches the rest once it completed (or stops the batch).
      if (view.phase === 'canary') {
        const plan = plans.get(view.batchId);
        const step = await continueCanary(client, rootStore(), view, {
          ...(plan ? { plan: rebase(plan, folder) } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (step.action === 'launched' || step.action === 'stopped') {
          monitor.reset(view.batchId);
          [view] = await monitor.poll(options.signal);
        } else if (step.action === 'unable') throw new Error(`batch ${view.batchId}: ${step.message}`);
      }
      status = new BatchStatus(view, folder);
      if (await live.show(status)) shown = true;
      else if (status.summary !== lastLine) {
        lastLine = status.summary;
        print(lastLine);
      }
      // An image that cannot be pulled keeps its replica Pending for days: that is an end as well.
      const stuck =
        view.counts.pullErrors > 0 &&
        view.replicas.every((r) => r.state === 'pull-error' || TERMINAL_STATES.has(r.state));
      if (view.done || stuck || options.signal?.aborted || Date.now() >= deadline) break;
      await abortableSleep(options.intervalMs ?? 2000, options.signal);
    }
  } finally {
    await monitor.flush().catch(() => undefined);
  }
  status.shownLive = shown;
  return status;
}

export interface LogsOptions {
  /** Keep reading until the session ends (tail -f). */
  follow?: boolean;
  /** Between reads when following (default 1000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * A session's log. `await logs(id)` gives the whole log (a LogText); `for await (const chunk of
 * logs(id, { follow: true }))` gives new text as it is written, until the session ends. The service has
 * no offset or follow: each read returns the whole log, and only the part not seen before is emitted.
 */
export class LogStream implements AsyncIterable<string>, PromiseLike<LogText> {
  constructor(
    readonly id: string,
    readonly options: LogsOptions = {},
  ) {}

  /** The whole log now. */
  async text(): Promise<LogText> {
    const { client } = await connection();
    return new LogText(this.id, await client.logs(this.id));
  }

  then<A = LogText, B = never>(
    onFulfilled?: ((value: LogText) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.text().then(onFulfilled, onRejected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    const { client } = await connection();
    if (!this.options.follow) {
      const text = await client.logs(this.id);
      if (text) yield text;
      return;
    }
    yield* followLog(client, this.id, this.options);
  }

  /** The same text, one complete line at a time (without the newline). */
  async *lines(): AsyncGenerator<string> {
    let partial = '';
    for await (const chunk of this) {
      const parts = (partial + chunk).split(/\r?\n/);
      partial = parts.pop() ?? '';
      yield* parts;
    }
    if (partial) yield partial;
  }

  /**
   * Prints the log to stdout line by line (in a kernel: the cell's output) until it ends, each line
   * after `prefix`. tslab (1.0) rejects a top-level `for await`; `await logs(id, { follow: true }).print()`
   * works in every kernel.
   */
  async print(prefix = ''): Promise<void> {
    for await (const line of this.lines()) process.stdout.write(`${prefix}${line}\n`);
  }
}

/** `canfar-lab logs`: see LogStream. */
export function logs(id: string, options: LogsOptions = {}): LogStream {
  return new LogStream(id, options);
}

/** `canfar-lab events`: a session's events (scheduling, image pulls, failures). */
export async function events(id: string): Promise<EventTable> {
  const { client } = await connection();
  return EventTable.list(await client.events(id));
}

/** `canfar-lab stats`: cores and RAM requested and available on the platform. */
export async function stats(): Promise<StatsView> {
  const { client } = await connection();
  return new StatsView(await client.stats());
}

/**
 * `canfar-lab batch delete -f`: deletes every session of a batch and records the deletion in its
 * batch.json, so that `batches()` no longer lists it (its folder, logs and outputs stay). With
 * `replicas`, only those replicas' sessions are deleted and the batch stays listed.
 */
export async function deleteBatch(
  id: string | { batchId: string },
  options: { replicas?: number[] } = {},
): Promise<DeleteResult> {
  const folder = await batchFolder(id);
  const { client } = await connection();
  if (!options.replicas) {
    const report = await deleteAndHideBatch(client, rootStore(), folder);
    return new DeleteResult(report.manifest.batchId, report.deleted, report.failed);
  }
  const manifest = await readManifest(rootStore(), folder);
  const report = await deleteBatchSessions(client, manifest, options);
  return new DeleteResult(manifest.batchId, report.deleted, report.failed);
}
