// How submitBatch drives createReplicas, against the local server over real HTTP: the planning listing
// stands in for the launch's own while it is recent (one round trip fewer) and never when it is not; a
// re-run of some replicas launches exactly those REPLICA_IDs out of the parent's count, including in the
// extra pass that relaunches a replica whose POST failed with a 500.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fetchPlatformInfo, planBatch, rerunInput, submitBatch } from '../src/batch';
import type { BatchPlan, PlatformInfo } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { SkahaClient } from '../src/skaha';
import type { Transport } from '../src/skaha';
import { IMAGE, startTestServer } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(60_000);

const NOTEBOOK = pythonNotebook([
  'import os\nprint("replica", os.environ["REPLICA_ID"], "of", os.environ["REPLICA_COUNT"])\n',
]);

let server: Awaited<ReturnType<typeof startTestServer>>;
let transport: ReturnType<typeof createNodeTransport>;
let client: SkahaClient;
let work: string;
/** Every request sent, `METHOD path?query`. */
const requests: string[] = [];
/** Replica names whose next POST answers 500 without reaching the server (the service failed first). */
const failNextPost = new Set<string>();

beforeAll(async () => {
  server = await startTestServer({ cores: 16, ramGB: 64 });
  transport = createNodeTransport({ token: server.server.token });
  const recording: Transport = async (request) => {
    const url = new URL(request.url);
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    const name = new URLSearchParams(request.body ?? '').get('name') ?? '';
    if (request.method === 'POST' && failNextPost.delete(name)) {
      return { status: 500, headers: { get: () => null }, text: async () => 'error writing to storage' };
    }
    return transport(request);
  };
  client = new SkahaClient({ baseUrl: server.server.apiUrl, transport: recording });
  work = mkdtempSync(join(tmpdir(), 'canfar-batch-launch-'));
});
afterAll(async () => {
  await transport.close();
  await server.dispose();
  rmSync(work, { recursive: true, force: true });
});

let case_ = 0;
async function planned(platform?: PlatformInfo): Promise<{ plan: BatchPlan; store: NodeBatchStore }> {
  const dir = join(work, `case-${++case_}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'nb.ipynb'), NOTEBOOK);
  const store = new NodeBatchStore(dir);
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: NOTEBOOK, replicas: 4, image: IMAGE },
    platform ?? (await fetchPlatformInfo(client)),
    store,
  );
  requests.length = 0;
  return { plan, store };
}

const listings = () => requests.filter((r) => /^GET \/skaha\/v1\/session(\?|$)/.test(r));
const posts = () => requests.filter((r) => r === 'POST /skaha/v1/session');

/** The platform log of each launched replica once it has finished. */
async function logsOf(sessionIds: string[]): Promise<string[]> {
  const logs: string[] = [];
  for (const id of sessionIds) {
    await server.api.waitStatus(id, ['Completed', 'Failed']);
    logs.push((await server.api.logs(id)).trim());
  }
  return logs;
}

test('submitting straight after planning launches on the planning listing: no listing of its own', async () => {
  const { plan, store } = await planned();
  expect(plan.sessionListing?.requestedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
  const result = await submitBatch(plan, { client, store });
  expect(result.launched).toBe(4);
  expect(posts()).toHaveLength(4);
  expect(listings()).toEqual([]);
});

test('a planning listing older than the limit, a zero limit, or a list without its time: the launch lists first', async () => {
  const stale = await planned();
  stale.plan.sessionListing!.requestedAt = new Date(Date.now() - 61_000);
  expect((await submitBatch(stale.plan, { client, store: stale.store })).launched).toBe(4);
  // The listing comes before the first POST.
  expect(requests[0]).toBe('GET /skaha/v1/session?type=headless');
  expect(listings()).toHaveLength(1);

  const strict = await planned();
  expect(
    (await submitBatch(strict.plan, { client, store: strict.store, baselineMaxAgeMs: 0 })).launched,
  ).toBe(4);
  expect(listings()).toHaveLength(1);

  // A cached list (as a panel keeps) says nothing about when it was taken.
  const info = await fetchPlatformInfo(client);
  const cached = await planned({ ...info, sessionsListedAt: undefined });
  expect(cached.plan.sessionListing).toBeUndefined();
  expect((await submitBatch(cached.plan, { client, store: cached.store })).launched).toBe(4);
  expect(listings()).toHaveLength(1);
});

test('re-running replicas 2 and 4 of 4 launches exactly those, as REPLICA_ID 2 and 4 of 4; a 500 is relaunched under its own id', async () => {
  const parent = await planned();
  const first = await submitBatch(parent.plan, { client, store: parent.store });
  expect(first.launched).toBe(4);

  const input = await rerunInput(parent.store, parent.plan.folder, { replicaIds: [4, 2] });
  const plan = await planBatch(input, await fetchPlatformInfo(client), parent.store);
  expect(plan.replicaIds).toEqual([2, 4]);
  // Replica 4's first POST fails with a 500 that created nothing: the listing shows it absent, and the
  // extra pass launches it again, still as replica 4 of 4.
  failNextPost.add(`${plan.name}-4`);
  requests.length = 0;
  const result = await submitBatch(plan, { client, store: parent.store });
  expect(result).toMatchObject({ launched: 2, failed: 0, cancelled: 0 });
  expect(posts()).toHaveLength(3);

  const launches = result.manifest.replicas.map((r) => [r.replica, r.name, r.launch?.state]);
  expect(launches).toEqual([
    [2, `${plan.name}-2`, 'launched'],
    [4, `${plan.name}-4`, 'launched'],
  ]);
  const four = result.manifest.replicas[1].launch;
  expect(four).toMatchObject({ state: 'launched', attempts: 2 });

  const held = (await server.api.list()).filter((s) => s.name.startsWith(`${plan.name.toLowerCase()}-`));
  expect(held.map((s) => s.name).sort()).toEqual(
    [`${plan.name}-2`, `${plan.name}-4`].map((n) => n.toLowerCase()),
  );
  const ids = result.manifest.replicas.map((r) => (r.launch?.state === 'launched' ? r.launch.sessionId : ''));
  const logs = await logsOf(ids);
  expect(logs[0]).toMatch(/^replica 2 of 4$/m);
  expect(logs[1]).toMatch(/^replica 4 of 4$/m);
});
