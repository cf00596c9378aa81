// Launch accounting under injected faults on the local server (real HTTP): 503 with Retry-After, 500,
// dropped connections, and creates that succeed but answer 500 or drop. Over many seeded runs: no
// duplicate session, no replica missing, every outcome in batch.json and true to what the server holds.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { fetchPlatformInfo, planBatch, submitBatch } from '../src/batch';
import type { BatchManifest } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { SkahaClient } from '../src/skaha';
import { LocalApi, startTestServer } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(600_000);

// More runs: BATCH_FAULT_RUNS=100 npx jest test/batch-faults
const RUNS = Number(process.env.BATCH_FAULT_RUNS ?? 8);
const REPLICAS = 24;

const notebook = pythonNotebook(['print(1)\n']);

/** The server's sessions, asked until the (faulty) server answers. */
async function serverSessions(api: LocalApi): Promise<{ id: string; name: string }[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api.list('?type=headless');
    } catch (error) {
      if (attempt > 50) throw error;
    }
  }
}

test(`${RUNS} seeded runs of ${REPLICAS} replicas under faults: zero duplicates, zero missing, every outcome recorded`, async () => {
  const totals = {
    runs: 0,
    replicas: 0,
    launched: 0,
    reconciled: 0,
    failed: 0,
    duplicates: 0,
    missing: 0,
    orphans: 0,
    unrecorded: 0,
  };
  const failures: Record<string, number> = {};
  const work = mkdtempSync(join(tmpdir(), 'canfar-batch-faults-'));
  try {
    for (let seed = 1; seed <= RUNS; seed++) {
      const { server, dispose } = await startTestServer({
        cores: 64,
        ramGB: 256,
        faults: {
          seed,
          pathIncludes: '/session',
          unavailableRate: 0.12,
          retryAfterSeconds: seed % 4 === 0 ? 1 : 0,
          serverErrorRate: 0.06,
          dropRate: 0.06,
          createThenFailRate: 0.15,
        },
      });
      const transport = createNodeTransport({ token: server.token, timeoutMs: 5000 });
      try {
        const client = new SkahaClient({ baseUrl: server.apiUrl, transport });
        const dir = join(work, `run-${seed}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'nb.ipynb'), notebook);
        const store = new NodeBatchStore(dir);
        const plan = await planBatch(
          {
            notebookPath: 'nb.ipynb',
            notebookText: notebook,
            replicas: REPLICAS,
            image: 'images.canfar.net/skaha/terminal:1.1.2',
          },
          await fetchPlatformInfo(client),
          store,
        );
        // The launch is under test, not the script: each replica runs `true`.
        plan.spec = { ...plan.spec, cmd: 'true', args: [] };
        const result = await submitBatch(plan, {
          client,
          store,
          concurrency: 8,
          retries: 6,
          retryDelayMs: 10,
        });

        const manifest = JSON.parse(
          readFileSync(join(dir, plan.folder, 'batch.json'), 'utf8'),
        ) as BatchManifest;
        const sessions = await serverSessions(new LocalApi(server));
        const byName = new Map<string, string[]>();
        for (const session of sessions)
          byName.set(session.name, [...(byName.get(session.name) ?? []), session.id]);
        totals.runs += 1;
        for (const record of manifest.replicas) {
          totals.replicas += 1;
          const ids = byName.get(record.name) ?? [];
          if (ids.length > 1) totals.duplicates += ids.length - 1;
          const launch = record.launch;
          if (!launch) totals.unrecorded += 1;
          else if (launch.state === 'launched') {
            totals.launched += 1;
            if (launch.reconciled) totals.reconciled += 1;
            // Recorded as launched, but the server has no such session: a replica gone missing.
            if (!ids.includes(launch.sessionId)) totals.missing += 1;
          } else {
            totals.failed += 1;
            const key =
              launch.state === 'failed'
                ? `${launch.code}${launch.status ? ` ${launch.status}` : ''}`
                : launch.state;
            failures[key] = (failures[key] ?? 0) + 1;
            // Recorded as not launched, yet running on the server: an orphan nobody would watch.
            if (ids.length > 0) totals.orphans += 1;
          }
        }
        expect(result.launched + result.failed + result.cancelled).toBe(REPLICAS);
        expect(manifest.launch.state).toBe('launched');
      } finally {
        await transport.close();
        await dispose();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(
    `fault injection: ${JSON.stringify(totals)}; launch failures by reason: ${JSON.stringify(failures)}`,
  );
  expect(totals.replicas).toBe(RUNS * REPLICAS);
  expect(totals.unrecorded).toBe(0);
  expect(totals.duplicates).toBe(0);
  expect(totals.missing).toBe(0);
  expect(totals.orphans).toBe(0);
  // Faults did happen and were recovered from by reconciliation, not just avoided.
  expect(totals.reconciled).toBeGreaterThan(0);
});
