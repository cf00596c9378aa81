/**
 * createReplicas over real HTTP (the undici transport) against the local Skaha-compatible server with fault
 * injection: POSTs that create the session and then answer 500 or drop the connection, 503 with Retry-After,
 * connections dropped before any work. After each launch the service must hold exactly one session per
 * successful replica (the one reported), and none for a failed one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startLocalServer, type LocalServer } from '../src/node/local';
import { createNodeTransport, type NodeTransport } from '../src/node/transport';
import { createReplicas, type ReplicaOutcome, type Session, SkahaClient } from '../src/skaha';

const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

let stateDir: string;
let home: string;
let server: LocalServer;
let transport: NodeTransport;
let client: SkahaClient;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'canfar-replicas-state-'));
  home = mkdtempSync(join(tmpdir(), 'canfar-replicas-home-'));
  server = await startLocalServer({
    stateDir,
    home,
    cores: 64,
    ramGB: 256,
    faults: {
      seed: 42,
      pathIncludes: '/session',
      createThenFailRate: 0.35,
      dropRate: 0.08,
      unavailableRate: 0.08,
      retryAfterSeconds: 0,
    },
  });
  transport = createNodeTransport({ token: server.token, timeoutMs: 10_000, env: {} });
  client = new SkahaClient({ baseUrl: server.apiUrl, transport });
});

afterAll(async () => {
  await transport?.close();
  await server?.close();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

/** The service's view, fetched through the faults (a listing can be dropped or refused too: try again). */
async function allSessions(): Promise<Session[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.list();
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

test('3 launches of 24 replicas through injected faults: no duplicate, no missing replica', async () => {
  const totals = { ok: 0, reconciled: 0, failed: 0, retried: 0 };
  for (const run of [1, 2, 3]) {
    const name = `faulty${run}`;
    const n = 24;
    const outcomes: ReplicaOutcome[] = await createReplicas(
      client,
      { name, image: IMAGE, cmd: 'true', env: { RUN: String(run) } },
      n,
      { concurrency: 8, retries: 4, retryDelayMs: 10, maxRetryDelayMs: 50 },
    );
    const sessions = (await allSessions()).filter((s) => s.name.startsWith(`${name}-`));
    const byName = new Map<string, string[]>();
    for (const s of sessions) byName.set(s.name, [...(byName.get(s.name) ?? []), s.id]);

    expect(outcomes.map((o) => o.name)).toEqual(Array.from({ length: n }, (_, i) => `${name}-${i + 1}`));
    for (const [replicaName, ids] of byName) expect([replicaName, ids.length]).toEqual([replicaName, 1]);
    for (const outcome of outcomes) {
      const ids = byName.get(outcome.name) ?? [];
      if (outcome.ok) {
        expect([outcome.name, ids]).toEqual([outcome.name, [outcome.sessionId]]);
        totals[outcome.reconciled ? 'reconciled' : 'ok'] += 1;
        if (outcome.attempts > 1) totals.retried += 1;
      } else {
        // Only an 'uncertain' outcome may leave a session behind; it says so.
        if (outcome.code !== 'uncertain')
          expect([outcome.name, outcome.code, ids]).toEqual([outcome.name, outcome.code, []]);
        totals.failed += 1;
      }
    }
  }
  // The faults must have been met: reconciliations and retries both happened.
  expect(totals.reconciled).toBeGreaterThan(5);
  expect(totals.retried).toBeGreaterThan(2);
  expect(totals.ok + totals.reconciled).toBeGreaterThan(60);
}, 60_000);

/** Asks again while the injected faults refuse or drop the request. */
async function through<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= 20) throw error;
    }
  }
}

test('ids over HTTP through faults: only the requested replicas, each with its id out of the full set', async () => {
  const name = 'subset';
  const n = 12;
  const ids = [11, 4, 7, 1, 12];
  const outcomes = await createReplicas(
    client,
    // Each replica prints the REPLICA_ID and REPLICA_COUNT it was given.
    { name, image: IMAGE, cmd: 'printenv', args: ['REPLICA_ID', 'REPLICA_COUNT'] },
    n,
    { ids, concurrency: 3, retries: 6, retryDelayMs: 10, maxRetryDelayMs: 50 },
  );
  expect(outcomes.map((o) => [o.replica, o.name])).toEqual(ids.map((id) => [id, `${name}-${id}`]));
  const sessions = (await allSessions()).filter((s) => s.name.startsWith(`${name}-`));
  const held = sessions.map((s) => s.name);
  // No session for a replica that was not requested, none twice.
  expect(held.filter((h) => !outcomes.some((o) => o.name === h))).toEqual([]);
  expect(held.length).toBe(new Set(held).size);
  for (const outcome of outcomes) {
    const held = sessions.filter((s) => s.name === outcome.name).map((s) => s.id);
    if (outcome.ok) expect([outcome.name, held]).toEqual([outcome.name, [outcome.sessionId]]);
    else if (outcome.code !== 'uncertain')
      expect([outcome.name, outcome.code, held]).toEqual([outcome.name, outcome.code, []]);
  }
  const launched = outcomes.filter((o) => o.ok);
  expect(launched.length).toBeGreaterThanOrEqual(3);
  for (const outcome of launched) {
    if (!outcome.ok) continue;
    let session = await through(() => client.get(outcome.sessionId));
    for (let wait = 0; session.status !== 'Completed' && wait < 100; wait++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      session = await through(() => client.get(outcome.sessionId));
    }
    expect([outcome.name, session.status]).toEqual([outcome.name, 'Completed']);
    const log = await through(() => client.logs(outcome.sessionId));
    expect([outcome.name, log.trim().split(/\s+/)]).toEqual([
      outcome.name,
      [String(outcome.replica), String(n)],
    ]);
  }
}, 60_000);
