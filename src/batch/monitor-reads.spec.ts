// What a poll costs in reads at the sizes batches really have (hundreds of replicas): the panel polls
// through the Jupyter contents API, where every read is a request. A batch folder in memory behind a
// store that counts what it is asked, and a scripted platform (the session list as the service answers it).
import { BatchMonitor } from './monitor';
import { planBatch } from './plan';
import type { BatchStore } from './store';
import { MemoryBatchStore } from './store';
import { submitBatch } from './submit';
import { platformInMemory } from './testing.test';
import type { ReplicaStatusFile } from './types';

const IMAGE = 'images.canfar.net/skaha/astroml:latest';
const NOTEBOOK = JSON.stringify({
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' } },
  cells: [
    { cell_type: 'code', id: 'a', metadata: {}, source: 'print(1)\n', outputs: [], execution_count: null },
  ],
});

/** The store's requests, as the contents API would see them: reads, listings, writes. */
class CountingStore {
  reads: string[] = [];
  listings: string[] = [];
  writes: string[] = [];
  inFlight = 0;
  peakInFlight = 0;
  /** Each read waits this many timer turns (a request that takes a while). */
  readDelay = 0;

  constructor(readonly inner: MemoryBatchStore) {}

  /** The store as the monitor sees it; without `listEntries` when `entries` is false (another store). */
  store(entries = true): BatchStore {
    const inner = this.inner;
    const store: BatchStore = {
      readText: async (path) => {
        this.reads.push(path);
        this.inFlight += 1;
        this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
        try {
          for (let i = 0; i < this.readDelay; i++) await new Promise((r) => setTimeout(r, 0));
          return await inner.readText(path);
        } finally {
          this.inFlight -= 1;
        }
      },
      writeTextExclusive: async (path, content) => {
        this.writes.push(path);
        return inner.writeTextExclusive(path, content);
      },
      writeTextAtomic: async (path, content) => {
        this.writes.push(path);
        return inner.writeTextAtomic(path, content);
      },
      exists: (path) => inner.exists(path),
      list: async (path) => {
        this.listings.push(path);
        return inner.list(path);
      },
      mkdirp: (path) => inner.mkdirp(path),
      absolutePath: (path) => inner.absolutePath(path),
    };
    if (entries)
      store.listEntries = async (path) => {
        this.listings.push(path);
        return inner.listEntries(path);
      };
    return store;
  }

  reset(): void {
    this.reads = [];
    this.listings = [];
    this.writes = [];
    this.peakInFlight = 0;
  }

  statusReads(): string[] {
    return this.reads.filter((path) => path.includes('/status/'));
  }
}

/** A batch of `replicas`, every one running (session Running, its status file written by run.sh). */
async function runningBatch(replicas: number) {
  const memory = new MemoryBatchStore('/arc/home/jdoe');
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: NOTEBOOK, replicas, image: IMAGE },
    {},
    memory,
  );
  const world = platformInMemory({ log: 'platform log\n' });
  await submitBatch(plan, { client: world.client, store: memory, concurrency: 64 });
  // As run.sh writes it (one line, replaced atomically).
  const status = (replica: number, fields: Partial<ReplicaStatusFile>) =>
    memory.writeTextAtomic(
      `${plan.folder}/status/replica-${replica}.json`,
      `${JSON.stringify({
        schema: 2,
        batchId: plan.batchId,
        replica,
        attempt: 1,
        state: 'running',
        host: `node-${replica}`,
        sessionId: world.sessions[replica - 1]?.id,
        start: '2026-08-01T10:00:00Z',
        ...fields,
      })}\n`,
    );
  for (let i = 1; i <= replicas; i++) {
    world.set(i - 1, 'Running');
    await status(i, {});
  }
  const counting = new CountingStore(memory);
  return { memory, counting, plan, world, status };
}

async function follow(
  batch: Awaited<ReturnType<typeof runningBatch>>,
  options: { entries?: boolean; listGraceSeconds?: number } = {},
) {
  const monitor = new BatchMonitor({
    client: batch.world.client,
    store: batch.counting.store(options.entries ?? true),
    ...(options.listGraceSeconds !== undefined ? { listGraceSeconds: options.listGraceSeconds } : {}),
  });
  await monitor.add(batch.plan.folder);
  const poll = async () => {
    const [view] = await monitor.poll();
    await monitor.flush();
    return view;
  };
  return { monitor, poll };
}

test('an unchanged poll of a 500-replica batch reads no status file (and not batch.json): one listing of status/', async () => {
  const batch = await runningBatch(500);
  const { poll } = await follow(batch);
  // The first polls read everything and record what they observed in batch.json.
  await poll();
  await poll();
  batch.counting.reset();
  const view = await poll();
  expect(view.counts).toMatchObject({ total: 500, running: 500 });
  expect(batch.counting.reads).toEqual([]);
  expect(batch.counting.writes).toEqual([]);
  expect(batch.counting.listings.filter((path) => path.endsWith('/status'))).toHaveLength(1);
});

test('a store without listEntries still works: it reads every running replica at every poll, as before', async () => {
  const batch = await runningBatch(50);
  const { poll } = await follow(batch, { entries: false });
  await poll();
  batch.counting.reset();
  const view = await poll();
  expect(view.counts).toMatchObject({ total: 50, running: 50 });
  expect(batch.counting.statusReads()).toHaveLength(50);
});

test('one replica finishing makes exactly one status read, and the poll shows it', async () => {
  const batch = await runningBatch(500);
  const { poll } = await follow(batch);
  await poll();
  await poll();
  await batch.status(17, { state: 'finished', end: '2026-08-01T10:05:00Z', exitCode: 0 });
  batch.world.set(16, 'Completed');
  batch.counting.reset();
  const view = await poll();
  expect(batch.counting.statusReads()).toEqual([`${batch.plan.folder}/status/replica-17.json`]);
  expect(view.replicas[16]).toMatchObject({ state: 'completed', exitCode: 0, end: '2026-08-01T10:05:00Z' });
  expect(view.counts).toMatchObject({ running: 499, completed: 1 });
  // Its platform log and events saved, and what the poll saw recorded in batch.json in one write.
  expect(batch.counting.writes.sort()).toEqual([
    `${batch.plan.folder}/batch.json`,
    `${batch.plan.folder}/logs/replica-17.events.txt`,
    `${batch.plan.folder}/logs/replica-17.platform.log`,
  ]);
  const manifest = JSON.parse(await batch.memory.readText(`${batch.plan.folder}/batch.json`));
  expect(manifest.replicas[16].observed).toMatchObject({
    status: 'Completed',
    captured: { log: 'logs/replica-17.platform.log', events: 'logs/replica-17.events.txt' },
  });
  // And the poll after it reads nothing again.
  batch.counting.reset();
  await poll();
  expect(batch.counting.statusReads()).toEqual([]);
});

test('a re-run attempt replacing a finished status is seen, also when the new file has the same size', async () => {
  const batch = await runningBatch(20);
  const { poll } = await follow(batch);
  await batch.memory.writeTextAtomic(
    `${batch.plan.folder}/logs/replica-3.log`,
    '==== canfar: attempt 1 of replica 3 on node-3, started 2026-08-01T10:00:00Z ====\n' +
      'canfar: cell 2 failed\nZeroDivisionError: division by zero\n',
  );
  await batch.status(3, { state: 'finished', end: '2026-08-01T10:05:00Z', exitCode: 1 });
  let view = await poll();
  expect(view.replicas[2]).toMatchObject({ state: 'failed', exitCode: 1, attempt: 1 });
  const failed = await batch.memory.readText(`${batch.plan.folder}/status/replica-3.json`);

  // The same session runs it again from the start (attempt 2, same folder), and it succeeds: its new
  // status file is exactly as long as the one it replaces.
  await batch.status(3, { attempt: 2, state: 'finished', end: '2026-08-01T10:09:00Z', exitCode: 0 });
  const completed = await batch.memory.readText(`${batch.plan.folder}/status/replica-3.json`);
  expect(completed.length).toBe(failed.length);
  batch.counting.reset();
  view = await poll();
  expect(batch.counting.statusReads()).toEqual([`${batch.plan.folder}/status/replica-3.json`]);
  expect(view.replicas[2]).toMatchObject({ state: 'completed', exitCode: 0, attempt: 2 });
  expect(view.replicas[2].failure).toBeUndefined();
});

test('a failed replica: its log is read once, not at every poll; a later attempt is read anew', async () => {
  const batch = await runningBatch(10);
  const { poll } = await follow(batch, { listGraceSeconds: 0 });
  const log = `${batch.plan.folder}/logs/replica-4.log`;
  await batch.memory.writeTextAtomic(
    log,
    '==== canfar: attempt 1 of replica 4 on node-4, started 2026-08-01T10:00:00Z ====\n' +
      'canfar: cell 2 failed\nKeyError: x\n',
  );
  await batch.status(4, { state: 'finished', end: '2026-08-01T10:05:00Z', exitCode: 1 });
  batch.world.set(3, 'Failed');
  // Replica 5's session vanished without a trace: lost, and it has no log at all.
  batch.world.sessions.splice(4, 1, { ...batch.world.sessions[4], id: 'gone', name: 'gone' });
  await batch.memory.writeTextAtomic(
    `${batch.plan.folder}/status/replica-5.json`,
    JSON.stringify({ schema: 2, replica: 5, attempt: 1, state: 'running', sessionId: 'elsewhere' }),
  );
  let view = await poll();
  expect(view.replicas[3].failure?.error).toContain('KeyError');
  expect(view.replicas[4].state).toBe('lost');
  for (let i = 0; i < 3; i++) {
    batch.counting.reset();
    view = await poll();
    expect(batch.counting.reads.filter((path) => path.includes('/logs/'))).toEqual([]);
  }
  expect(view.replicas[3].failure?.error).toContain('KeyError');

  // Attempt 2 of replica 4 fails differently.
  await batch.memory.writeTextAtomic(
    log,
    `${await batch.memory.readText(log)}==== canfar: attempt 2 of replica 4 on node-9, started 2026-08-01T10:10:00Z ====\n` +
      'canfar: cell 3 failed\nValueError: y\n',
  );
  await batch.status(4, { attempt: 2, state: 'finished', end: '2026-08-01T10:15:00Z', exitCode: 1 });
  view = await poll();
  expect(view.replicas[3]).toMatchObject({ attempt: 2, state: 'failed' });
  expect(view.replicas[3].failure?.error).toContain('ValueError');
});

test('the first poll after a reload reads every status file once, 8 at a time, not one after another', async () => {
  const batch = await runningBatch(500);
  // The page is reloaded: a new monitor knows nothing yet.
  batch.counting.readDelay = 2;
  const { poll } = await follow(batch);
  const view = await poll();
  expect(view.counts).toMatchObject({ total: 500, running: 500 });
  const reads = batch.counting.statusReads();
  expect(reads).toHaveLength(500);
  expect(new Set(reads).size).toBe(500);
  expect(batch.counting.peakInFlight).toBe(8);
});

test('combine.json is read when it changes, not at every poll', async () => {
  const memory = new MemoryBatchStore('/arc/home/jdoe');
  const notebook = JSON.parse(NOTEBOOK);
  notebook.cells.push({
    cell_type: 'code',
    id: 'b',
    metadata: { tags: ['combine'] },
    source: 'print(2)\n',
    outputs: [],
    execution_count: null,
  });
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: JSON.stringify(notebook), replicas: 2, image: IMAGE },
    {},
    memory,
  );
  const world = platformInMemory({ log: 'platform log\n' });
  await submitBatch(plan, { client: world.client, store: memory });
  const counting = new CountingStore(memory);
  const monitor = new BatchMonitor({ client: world.client, store: counting.store() });
  await monitor.add(plan.folder);
  for (const i of [1, 2]) {
    world.set(i - 1, i === 2 ? 'Running' : 'Completed');
    await memory.writeTextAtomic(
      `${plan.folder}/status/replica-${i}.json`,
      JSON.stringify({
        schema: 2,
        replica: i,
        attempt: 1,
        state: 'finished',
        exitCode: 0,
        sessionId: world.sessions[i - 1].id,
      }),
    );
  }
  const combine = (state: string, extra: object = {}) =>
    memory.writeTextAtomic(
      `${plan.folder}/status/combine.json`,
      JSON.stringify({ schema: 2, replica: 'combine', runBy: 2, attempt: 1, state, ...extra }),
    );
  await combine('running');
  const poll = async () => {
    const [view] = await monitor.poll();
    await monitor.flush();
    return view;
  };
  expect((await poll()).combine?.state).toBe('running');
  counting.reset();
  expect((await poll()).phase).toBe('combining');
  expect(counting.statusReads()).toEqual([]);
  await combine('finished', { exitCode: 0 });
  world.set(1, 'Completed');
  counting.reset();
  const view = await poll();
  expect(counting.statusReads()).toEqual([`${plan.folder}/status/combine.json`]);
  expect(view.combine?.state).toBe('completed');
  expect(view.phase).toBe('done');
});
