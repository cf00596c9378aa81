// The monitor and the actions against the local server (real HTTP, real processes): one list call per
// poll for all batches, terminal replicas' logs captured once, cleaned-up sessions told apart from
// failures, Ctrl-C during a launch recorded exactly; and image pull errors, which the local server cannot
// produce, with a client whose events say so.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  BatchMonitor,
  deleteBatch,
  failedReplicas,
  fetchPlatformInfo,
  materializeBatch,
  MemoryBatchStore,
  planBatch,
  pollBatches,
  submitBatch,
} from '../src/batch';
import type { BatchManifest, BatchView } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { SkahaClient } from '../src/skaha';
import type { Session, Transport } from '../src/skaha';
import { IMAGE, startTestServer, waitFor } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(60_000);

let server: Awaited<ReturnType<typeof startTestServer>>;
let transport: ReturnType<typeof createNodeTransport>;
let client: SkahaClient;
let work: string;
const requests: string[] = [];

beforeAll(async () => {
  // Finished sessions vanish after 2 s here (an hour on CANFAR).
  server = await startTestServer({ cores: 16, ramGB: 64, ttlSeconds: 2 });
  transport = createNodeTransport({ token: server.server.token });
  const counting: Transport = (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    return transport(request);
  };
  client = new SkahaClient({ baseUrl: server.server.apiUrl, transport: counting });
  work = mkdtempSync(join(tmpdir(), 'canfar-batch-monitor-'));
});
afterAll(async () => {
  await transport.close();
  await server.dispose();
  rmSync(work, { recursive: true, force: true });
});

async function launch(dirName: string, source: string, replicas: number) {
  const dir = join(work, dirName);
  mkdirSync(dir, { recursive: true });
  const text = pythonNotebook([source]);
  writeFileSync(join(dir, 'nb.ipynb'), text);
  const store = new NodeBatchStore(dir);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: text, replicas, image: IMAGE },
    await fetchPlatformInfo(client),
    store,
  );
  const result = await submitBatch(plan, { client, store });
  return { dir, store, plan, result };
}

test('one list call per poll for all batches; exit codes, logs and events kept; cleaned up is not failed', async () => {
  const ok = await launch('two', 'import os\nprint("hello from", os.environ["REPLICA_ID"])\n', 3);
  const bad = await launch('bad', 'import os, sys\nsys.exit(int(os.environ["REPLICA_ID"]) - 1)\n', 2);
  // Both batches in one store rooted at the work folder.
  const store = new NodeBatchStore(work);
  const monitor = new BatchMonitor({ client, store });
  await monitor.add(join('two', ok.plan.folder));
  await monitor.add(join('bad', bad.plan.folder));

  requests.length = 0;
  let views: BatchView[] = [];
  let polls = 0;
  await waitFor('both batches to finish', async () => {
    polls += 1;
    views = await monitor.poll();
    return views.every((v) => v.done) || undefined;
  });
  // Exactly one list call per poll, for the two batches together; no per-session GET.
  expect(requests.filter((r) => /^GET .*\/session\?type=headless$/.test(r))).toHaveLength(polls);
  expect(requests.filter((r) => /^GET .*\/session\/[a-z0-9]+$/.test(r))).toEqual([]);

  const [good, failed] = views;
  expect(good.counts).toMatchObject({ total: 3, completed: 3, failed: 0 });
  expect(failed.counts).toMatchObject({ total: 2, completed: 1, failed: 1 });
  expect(failed.replicas.map((r) => [r.replica, r.state, r.exitCode])).toEqual([
    [1, 'completed', 0],
    [2, 'failed', 1],
  ]);
  expect(failedReplicas(failed)).toEqual([2]);
  for (const replica of good.replicas) expect(replica.durationSeconds).toBeGreaterThanOrEqual(0);

  // Captured once the platform says the session ended: the platform's log and events, in the batch folder.
  await waitFor('captures', async () => {
    await monitor.poll();
    await monitor.flush();
    const manifest = JSON.parse(
      readFileSync(join(ok.dir, ok.plan.folder, 'batch.json'), 'utf8'),
    ) as BatchManifest;
    return manifest.replicas.every((r) => r.observed?.captured?.log) || undefined;
  });
  const platformLog = readFileSync(join(ok.dir, ok.plan.folder, 'logs/replica-2.platform.log'), 'utf8');
  expect(platformLog).toContain('hello from 2');
  expect(existsSync(join(ok.dir, ok.plan.folder, 'logs/replica-2.events.txt'))).toBe(true);

  // After the platform deleted them (ttl), the replicas are cleaned up, with their exit codes kept.
  await waitFor(
    'the sessions to be removed',
    async () =>
      (await server.api.list('?type=headless')).some((s) => s.name.startsWith(bad.plan.name))
        ? undefined
        : true,
    15_000,
  );
  const [after] = await pollBatches(client, new NodeBatchStore(bad.dir), [bad.plan.folder]);
  expect(after.replicas.map((r) => [r.state, r.cleanedUp, r.exitCode])).toEqual([
    ['completed', true, 0],
    ['failed', true, 1],
  ]);
});

test('Ctrl-C while launching: what was launched is recorded as launched, the rest as cancelled', async () => {
  const dir = join(work, 'cancel');
  mkdirSync(dir);
  const text = pythonNotebook(['import time\ntime.sleep(30)\n']);
  writeFileSync(join(dir, 'nb.ipynb'), text);
  const store = new NodeBatchStore(dir);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: text, replicas: 40, image: IMAGE },
    await fetchPlatformInfo(client),
    store,
  );
  const controller = new AbortController();
  const result = await submitBatch(plan, {
    client,
    store,
    concurrency: 2,
    signal: controller.signal,
    onProgress: (p) => {
      if (p.launched === 5) controller.abort();
    },
  });
  const manifest = JSON.parse(readFileSync(join(dir, plan.folder, 'batch.json'), 'utf8')) as BatchManifest;
  expect(manifest.launch.state).toBe('interrupted');
  const launched = manifest.replicas.filter((r) => r.launch?.state === 'launched');
  const cancelled = manifest.replicas.filter((r) => r.launch?.state === 'cancelled');
  expect(launched.length).toBe(result.launched);
  expect(launched.length + cancelled.length).toBe(40);
  expect(launched.length).toBeGreaterThanOrEqual(5);
  expect(launched.length).toBeLessThanOrEqual(7);
  // The server holds exactly the launched ones.
  const onServer = (await server.api.list('?type=headless')).filter((s) =>
    s.name.startsWith(`${plan.name}-`),
  );
  expect(onServer.map((s) => s.id).sort()).toEqual(
    launched.map((r) => (r.launch?.state === 'launched' ? r.launch.sessionId : '')).sort(),
  );
  // Delete the batch: every launched session goes.
  const report = await deleteBatch(client, manifest);
  expect(report.deleted.length).toBe(launched.length);
  await waitFor('the deleted sessions to end', async () => {
    const left = (await server.api.list('?type=headless')).filter(
      (s) => s.name.startsWith(`${plan.name}-`) && s.status === 'Running',
    );
    return left.length === 0 || undefined;
  });
});

test('a Pending replica whose events show an image pull error is reported with the message', async () => {
  const store = new MemoryBatchStore();
  const text = pythonNotebook(['print(1)\n']);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: text, replicas: 2, image: IMAGE },
    {},
    store,
  );
  const sessions: Session[] = [];
  // The local server runs no images, so it cannot fail to pull one: a client whose sessions stay Pending.
  const pending = {
    async list() {
      return sessions;
    },
    async create(spec: { name: string }) {
      const id = `p${String(sessions.length).padStart(7, '0')}`;
      // Admitted (a pod exists, so it has a start time), its image being pulled.
      sessions.push({
        id,
        name: spec.name,
        status: 'Pending',
        startTime: new Date(),
        image: IMAGE,
        type: 'headless',
        raw: {},
      });
      return id;
    },
    async events(id: string) {
      return id.endsWith('1')
        ? [
            {
              type: 'Warning',
              reason: 'Failed',
              message: 'Failed to pull image "images.canfar.net/skaha/nope:1": not found',
            },
            { type: 'Warning', reason: 'ErrImagePull', message: 'ErrImagePull' },
          ]
        : [];
    },
  } as unknown as SkahaClient;
  await submitBatch(plan, { client: pending, store });
  const [view] = await pollBatches(pending, store, [plan.folder]);
  const states = Object.fromEntries(view.replicas.map((r) => [r.sessionId, [r.state, r.message]]));
  expect(states.p0000001).toEqual(['pull-error', expect.stringContaining('Failed to pull image')]);
  expect(states.p0000000).toEqual(['pending', undefined]);
  expect(view.counts).toMatchObject({ pending: 2, pullErrors: 1 });
  // Still Pending on the platform: not a final outcome, so not something "re-run failed" launches again.
  expect(failedReplicas(view)).toEqual([]);
});

test('a monitor elsewhere (the panel, another process) sees the launch as it happens and never undoes it', async () => {
  const dir = join(work, 'observer');
  mkdirSync(dir);
  const text = pythonNotebook(['print("observed")\n']);
  writeFileSync(join(dir, 'nb.ipynb'), text);
  const store = new NodeBatchStore(dir);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: text, replicas: 3, image: IMAGE },
    await fetchPlatformInfo(client),
    store,
  );
  const writer = await materializeBatch(plan, store);
  // The observer has its own view of the files, as a second process would.
  const observer = new BatchMonitor({ client, store: new NodeBatchStore(dir) });
  await observer.add(plan.folder);
  const [before] = await observer.poll();
  expect(before.replicas.map((r) => r.state)).toEqual(['launching', 'launching', 'launching']);
  expect(before.done).toBe(false);

  await submitBatch(plan, { client, store, writer });
  let view: BatchView | undefined;
  await waitFor('the observer to see the batch done', async () => {
    [view] = await observer.poll();
    await observer.flush();
    return view.done || undefined;
  });
  expect(view!.counts).toMatchObject({ completed: 3, failed: 0 });
  const manifest = JSON.parse(readFileSync(join(dir, plan.folder, 'batch.json'), 'utf8')) as BatchManifest;
  // The submitter's launch records and the observer's observations, both kept.
  expect(manifest.launch.state).toBe('launched');
  expect(manifest.replicas.every((r) => r.launch?.state === 'launched' && r.observed?.status)).toBe(true);
});

test("a batch larger than the server's capacity: its waiting replicas are queued, and no events are asked for them", async () => {
  // Two cores: two replicas of one core each run, the other two wait in the server's queue (no startTime,
  // events 404), as headless jobs wait in CANFAR's Kueue queue.
  const small = await startTestServer({ cores: 2, ramGB: 16 });
  const seen: string[] = [];
  const smallTransport = createNodeTransport({ token: small.server.token });
  const smallClient = new SkahaClient({
    baseUrl: small.server.apiUrl,
    transport: (request) => {
      const url = new URL(request.url);
      seen.push(`${request.method} ${url.pathname}${url.search}`);
      return smallTransport(request);
    },
  });
  try {
    const dir = join(work, 'queue');
    mkdirSync(dir);
    const text = pythonNotebook(['import time\ntime.sleep(2)\n']);
    writeFileSync(join(dir, 'nb.ipynb'), text);
    const store = new NodeBatchStore(dir);
    const plan = await planBatch(
      { notebookPath: 'nb.ipynb', notebookText: text, replicas: 4, image: IMAGE, cores: 1, ram: 1 },
      await fetchPlatformInfo(smallClient),
      store,
    );
    await submitBatch(plan, { client: smallClient, store });
    const monitor = new BatchMonitor({ client: smallClient, store, pullCheckSeconds: 0 });
    await monitor.add(plan.folder);
    seen.length = 0;
    const [first] = await monitor.poll();
    expect(first.counts).toMatchObject({ queued: 2, running: 2 });
    const queued = first.replicas.filter((r) => r.state === 'queued');
    expect(queued.map((r) => r.message)).toEqual([
      "waiting in the platform's queue (CANFAR queues headless work behind interactive sessions)",
      "waiting in the platform's queue (CANFAR queues headless work behind interactive sessions)",
    ]);
    let view = first;
    const queuedIds = new Set(queued.map((r) => r.sessionId!));
    while (!view.done) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      [view] = await monitor.poll();
    }
    expect(view.counts).toMatchObject({ completed: 4, queued: 0, failed: 0 });
    // The only event requests are the captures of finished sessions' events, never while queued.
    const eventCalls = seen.filter((r) => r.includes('view=events'));
    for (const id of queuedIds) {
      const calls = eventCalls.filter((r) => r.includes(`/session/${id}?`));
      expect(calls.length).toBeLessThanOrEqual(1);
    }
    expect(seen.filter((r) => r.includes('view=events')).length).toBe(4);
    await monitor.flush();
  } finally {
    await smallTransport.close();
    await small.dispose();
  }
});
