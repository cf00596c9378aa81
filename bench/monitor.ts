/**
 * What one poll of the batch monitor costs the store at 100, 500 and 1,000 replicas (1,000 = two batches
 * of 500: a batch holds at most 512), this monitor beside the old behaviour:
 *
 *   - new: the monitor as it is, on a store with `listEntries`: one listing of each batch's status/ per
 *     poll, a status file read only when its entry changed, reads 8 at a time; batch.json read only when
 *     it changed;
 *   - old: the same monitor on the same store with `listEntries` hidden and `readConcurrency: 1`, which is
 *     what the monitor did before (every unfinished replica's status file and batch.json at every poll,
 *     one read after another). Reachable only here. (Before, a changed poll also wrote batch.json twice,
 *     observations and captures apart, each write after a read of it: 2 requests more than shown here.)
 *
 * Stores: `contents`, the panel's ContentsBatchStore over the Jupyter contents API of a real jupyter_server
 * (`/usr/bin/python3 -m jupyter_server`, as the rig runs it) with a fresh store per poll, as in the browser
 * where a poll interval outlasts the store's 1.5 s listing cache; `node`, the CLI's NodeBatchStore.
 *
 * Every batch is planned and written by the real planner (script, run.sh, batch.json) and launched on a
 * scripted session list (every replica Running; the list is one request per poll for all batches, not
 * measured here). Steady state: every replica's status file says running, written directly in run.sh's
 * format. A changed poll follows one replica's end: its real run.sh runs (attempt 1: the script, then
 * its final status file, by rename) and its session turns Completed; that poll also saves its platform
 * log and events and records the outcome in batch.json, for both variants alike.
 *
 * Per poll: requests to the store (contents API requests; calls for the node store), of which status
 * file reads, KB received (read), and the poll's time (`monitor.poll()`). Medians over `--polls`.
 * "First poll": a new monitor on the steady state (a page reload; a monitor watched before it, so
 * batch.json holds its observations). "Next": the poll after a changed one, which takes batch.json again
 * since the monitor wrote it. `--latency MS` delays every contents
 * API request by MS (a browser some distance from its Jupyter server; requests in flight together overlap).
 * Figures only; nothing is asserted.
 *
 *   npm run bench:monitor -- [--sizes 100,500,1000] [--polls 5] [--stores contents,node] [--latency 0]
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ContentsManager, ServerConnection } from '@jupyterlab/services';

import { BatchMonitor, planBatch, submitBatch } from '../src/batch';
import type { BatchPlan, BatchStore } from '../src/batch';
import { ContentsBatchStore } from '../src/lab/contents-store';
import { platformInMemory } from '../src/batch/testing.test';
import { NodeBatchStore } from '../src/node/batch-store';
import type { Session, SkahaClient } from '../src/skaha';
import { pythonNotebook } from '../test/helpers/notebooks';
import { freePort } from '../test/helpers/net';

const PYTHON = process.env.CANFAR_TEST_PYTHON || '/usr/bin/python3';
const IMAGE = 'images.canfar.net/skaha/astroml:latest';
const MAX_PER_BATCH = 500;

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,500,1000' },
    polls: { type: 'string', default: '5' },
    stores: { type: 'string', default: 'contents,node' },
    latency: { type: 'string', default: '0' },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const POLLS = Number(values.polls);
const STORES = values.stores.split(',') as StoreKind[];
const LATENCY = Number(values.latency);

type StoreKind = 'contents' | 'node';
type Variant = 'new' | 'old';

function log(text: string): void {
  process.stderr.write(`bench:monitor: ${text}\n`);
}

/** What the store was asked during one poll. */
class Meter {
  requests = 0;
  statusReads = 0;
  bytes = 0;
  reset(): void {
    this.requests = 0;
    this.statusReads = 0;
    this.bytes = 0;
  }
}

interface PollFigures {
  requests: number;
  statusReads: number;
  kb: number;
  ms: number;
}

interface Figures {
  first: PollFigures;
  unchanged: PollFigures;
  changed: PollFigures;
  next: PollFigures;
}

// ---------------------------------------------------------------------------------------------------
// Jupyter server and the contents API from Node

interface Jupyter {
  url: string;
  token: string;
  child: ChildProcess;
}

async function startJupyter(root: string): Promise<Jupyter> {
  const port = await freePort();
  const token = `bench-${process.pid}`;
  const child = spawn(
    PYTHON,
    [
      '-m',
      'jupyter_server',
      `--ServerApp.root_dir=${root}`,
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--ServerApp.token=${token}`,
      '--no-browser',
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${url}api/status`, { headers: { Authorization: `token ${token}` } });
      if (response.ok) return { url, token, child };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGTERM');
  throw new Error(`jupyter_server did not start (${PYTHON} -m jupyter_server): ${stderr}`);
}

function contentsManager(jupyter: Jupyter, meter: Meter): ContentsManager {
  const counting = async (input: RequestInfo | URL, init?: RequestInit) => {
    if (LATENCY > 0) await new Promise((r) => setTimeout(r, LATENCY));
    const response = await fetch(input, init);
    meter.requests += 1;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (/\/status\/(replica-\d+|combine)\.json/.test(decodeURIComponent(url))) meter.statusReads += 1;
    meter.bytes += Number(response.headers.get('content-length') ?? 0);
    return response;
  };
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: jupyter.url,
    wsUrl: jupyter.url.replace(/^http/, 'ws'),
    token: jupyter.token,
    fetch: counting as typeof fetch,
    // Nothing here opens a socket; Node 20 has no WebSocket of its own.
    WebSocket: class {} as unknown as typeof WebSocket,
  });
  return new ContentsManager({ serverSettings });
}

// ---------------------------------------------------------------------------------------------------
// Stores as each variant sees them

/** Node store whose every call counts as one request. */
function countingNodeStore(root: string, meter: Meter): BatchStore {
  const inner = new NodeBatchStore(root);
  const count = <T>(result: Promise<T>) => {
    meter.requests += 1;
    return result;
  };
  return {
    readText: async (path) => {
      if (/\/status\/(replica-\d+|combine)\.json$/.test(path)) meter.statusReads += 1;
      const text = await count(inner.readText(path));
      meter.bytes += text.length;
      return text;
    },
    writeTextExclusive: (path, content, options) => count(inner.writeTextExclusive(path, content, options)),
    writeTextAtomic: (path, content) => count(inner.writeTextAtomic(path, content)),
    exists: (path) => count(inner.exists(path)),
    list: (path) => count(inner.list(path)),
    listEntries: (path) => count(inner.listEntries(path)),
    mkdirp: (path) => count(inner.mkdirp(path)),
    absolutePath: (path) => inner.absolutePath(path),
  };
}

/**
 * The store a monitor holds: `renew()` starts afresh before each poll (the contents store's listing
 * cache lasts 1.5 s, less than a poll interval); `old` hides `listEntries`.
 */
function variantStore(make: () => BatchStore, variant: Variant): BatchStore & { renew(): void } {
  let current = make();
  const store: BatchStore & { renew(): void } = {
    renew: () => (current = make()),
    readText: (path) => current.readText(path),
    writeTextExclusive: (path, content, options) => current.writeTextExclusive(path, content, options),
    writeTextAtomic: (path, content) => current.writeTextAtomic(path, content),
    exists: (path) => current.exists(path),
    list: (path) => current.list(path),
    mkdirp: (path) => current.mkdirp(path),
    absolutePath: (path) => current.absolutePath(path),
  };
  if (variant === 'new') store.listEntries = (path) => current.listEntries!(path);
  return store;
}

// ---------------------------------------------------------------------------------------------------
// Batches on disk and a scripted platform

interface World {
  plans: BatchPlan[];
  sessions: Session[];
  client: SkahaClient;
  root: string;
}

/** Batches of `n` replicas in total under `root/<dir>/work`, every replica Running with a running status. */
async function setUp(root: string, dir: string, n: number): Promise<World> {
  const home = join(root, dir);
  mkdirSync(join(home, 'work'), { recursive: true });
  const notebook = pythonNotebook(['print("done")\n']);
  writeFileSync(join(home, 'work', 'nb.ipynb'), notebook);
  const { client, sessions } = platformInMemory({
    status: 'Running',
    started: true,
    log: 'done\n',
    eventsText: 'TYPE  REASON  MESSAGE\nNormal  Started  Started container\n',
  });
  const store = new NodeBatchStore(home);
  const plans: BatchPlan[] = [];
  const count = Math.ceil(n / MAX_PER_BATCH);
  for (let b = 0; b < count; b++) {
    const replicas = Math.floor(n / count) + (b < n % count ? 1 : 0);
    const plan = await planBatch(
      {
        notebookPath: 'work/nb.ipynb',
        notebookText: notebook,
        replicas,
        image: IMAGE,
        name: `scale${b + 1}`,
      },
      {},
      store,
    );
    const result = await submitBatch(plan, { client, store, concurrency: 64 });
    // Folders relative to the Jupyter root (the store the monitor gets is rooted there).
    plan.folder = join(dir, plan.folder);
    plans.push(plan);
    const start = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    for (const record of result.manifest.replicas) {
      const sessionId = record.launch?.state === 'launched' ? record.launch.sessionId : '';
      // run.sh's write_status, attempt 1, running: one line, replaced through a rename.
      const file = join(root, plan.folder, 'status', `replica-${record.replica}.json`);
      mkdirSync(join(root, plan.folder, 'status'), { recursive: true });
      writeFileSync(
        `${file}.tmp`,
        `{"schema":2,"batchId":"${plan.batchId}","replica":${record.replica},"attempt":1,"state":"running","host":"bench","sessionId":"${sessionId}","start":"${start}"}\n`,
      );
      renameSync(`${file}.tmp`, file);
    }
  }
  return { plans, sessions, client, root: home };
}

/** One replica ends for real: its run.sh runs the script and writes its final status; its session ends. */
function finishReplica(world: World, plan: BatchPlan, replica: number): void {
  const planned = plan.replicas.find((r) => r.replica === replica)!;
  const session = world.sessions.find((s) => s.name === planned.name)!;
  const run = spawnSync(plan.spec.cmd ?? 'sh', plan.spec.args ?? [], {
    cwd: world.root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: world.root,
      ...plan.spec.env,
      ...planned.env,
      skaha_sessionid: session.id,
    },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`run.sh of replica ${replica} exited ${run.status}: ${run.stderr}`);
  session.status = 'Completed';
}

// ---------------------------------------------------------------------------------------------------

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function medianFigures(list: PollFigures[]): PollFigures {
  return {
    requests: median(list.map((f) => f.requests)),
    statusReads: median(list.map((f) => f.statusReads)),
    kb: median(list.map((f) => f.kb)),
    ms: median(list.map((f) => f.ms)),
  };
}

async function measure(kind: StoreKind, variant: Variant, n: number, jupyter?: Jupyter): Promise<Figures> {
  const root = jupyter ? jupyterRoot : mkdtempSync(join(tmpdir(), 'canfar-bench-monitor-'));
  const dir = `n${n}-${variant}`;
  const world = await setUp(root, dir, n);
  const meter = new Meter();
  const store = variantStore(
    () =>
      kind === 'contents'
        ? new ContentsBatchStore(contentsManager(jupyter!, meter), '/srv')
        : countingNodeStore(root, meter),
    variant,
  );
  try {
    const follow = async () => {
      const monitor = new BatchMonitor({
        client: world.client,
        store,
        ...(variant === 'old' ? { readConcurrency: 1 } : {}),
      });
      for (const plan of world.plans) await monitor.add(plan.folder);
      return monitor;
    };
    const poll = async (monitor: BatchMonitor): Promise<PollFigures> => {
      store.renew();
      meter.reset();
      const start = process.hrtime.bigint();
      const views = await monitor.poll();
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      // The observations' write to batch.json, which the poll may leave under way.
      await monitor.flush();
      const running = views.reduce((sum, view) => sum + view.counts.running, 0);
      if (running + views.reduce((sum, view) => sum + view.counts.completed, 0) !== n)
        throw new Error(`unexpected states: ${JSON.stringify(views.map((v) => v.counts))}`);
      return { requests: meter.requests, statusReads: meter.statusReads, kb: meter.bytes / 1024, ms };
    };
    // A monitor watched these batches before (batch.json holds what it observed); then the page reloads.
    await poll(await follow());
    const first: PollFigures[] = [];
    let monitor = await follow();
    for (let i = 0; i < POLLS; i++) {
      if (i > 0) monitor = await follow();
      first.push(await poll(monitor));
    }
    const unchanged: PollFigures[] = [];
    for (let i = 0; i < POLLS; i++) unchanged.push(await poll(monitor));
    const changed: PollFigures[] = [];
    const next: PollFigures[] = [];
    for (let i = 0; i < POLLS; i++) {
      finishReplica(world, world.plans[0], 1 + i * 7);
      changed.push(await poll(monitor));
      next.push(await poll(monitor));
    }
    return {
      first: medianFigures(first),
      unchanged: medianFigures(unchanged),
      changed: medianFigures(changed),
      next: medianFigures(next),
    };
  } finally {
    if (!jupyter) rmSync(root, { recursive: true, force: true });
  }
}

let jupyterRoot = '';

function table(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i])).join('  '));
}

async function main(): Promise<void> {
  for (const kind of STORES) {
    let jupyter: Jupyter | undefined;
    if (kind === 'contents') {
      jupyterRoot = mkdtempSync(join(tmpdir(), 'canfar-bench-monitor-lab-'));
      jupyter = await startJupyter(jupyterRoot);
      log(`jupyter_server at ${jupyter.url} (root ${jupyterRoot})`);
    }
    try {
      console.log(
        kind === 'contents'
          ? `\nContents API (jupyter_server, the panel's store${LATENCY ? `, ${LATENCY} ms added per request` : ''}): HTTP requests, status files read, KB received and time per poll.`
          : "\nNode store (the CLI's): store calls, status files read, KB read and time per poll.",
      );
      const columns = (f: PollFigures, seconds = false) => [
        String(f.requests),
        String(f.statusReads),
        f.kb.toFixed(0),
        seconds ? (f.ms / 1000).toFixed(2) : f.ms.toFixed(0),
      ];
      const rows: string[][] = [
        [
          'N',
          'variant',
          ...['first: req', 'reads', 'KB', 's'],
          ...['unchanged: req', 'reads', 'KB', 'ms'],
          ...['changed: req', 'reads', 'KB', 'ms'],
          ...['next: req', 'KB', 'ms'],
        ],
      ];
      const ratios: string[] = [];
      for (const n of SIZES) {
        const figures: Partial<Record<Variant, Figures>> = {};
        for (const variant of ['new', 'old'] as Variant[]) {
          log(`${kind} N=${n} ${variant}`);
          const f = await measure(kind, variant, n, jupyter);
          figures[variant] = f;
          const next = columns(f.next);
          rows.push([
            String(n),
            variant,
            ...columns(f.first, true),
            ...columns(f.unchanged),
            ...columns(f.changed),
            next[0],
            next[2],
            next[3],
          ]);
        }
        const [a, b] = [figures.new!, figures.old!];
        // A ratio, or both figures when ours is zero (nothing read: no ratio to give).
        const x = (old: number, ours: number, digits = 1) =>
          ours > 0 ? `${(old / ours).toFixed(digits)}x` : `${Math.round(old)} vs ${Math.round(ours)}`;
        ratios.push(
          `N=${n}, old/new: unchanged poll ${x(b.unchanged.requests, a.unchanged.requests, 0)} requests, ${x(b.unchanged.kb, a.unchanged.kb)} KB, ${x(b.unchanged.ms, a.unchanged.ms)} time; ` +
            `changed poll ${x(b.changed.requests, a.changed.requests)} requests, ${x(b.changed.ms, a.changed.ms)} time; ` +
            `first poll ${x(b.first.ms, a.first.ms)} time`,
        );
      }
      table(rows);
      for (const line of ratios) console.log(line);
    } finally {
      if (jupyter) {
        jupyter.child.kill('SIGTERM');
        rmSync(jupyterRoot, { recursive: true, force: true });
      }
    }
  }
  console.log(
    '\nnew: one listing of status/ per batch, reads only of changed files, 8 at a time; old: every status file and batch.json\n' +
      "at every poll, one after another. A changed poll also saves the ended replica's platform log and events and writes\n" +
      'batch.json (both variants). Plus one session list per poll for all batches (not counted).',
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
