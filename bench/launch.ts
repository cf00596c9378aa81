/**
 * Time to launch a batch of N replicas against the local server with 100 ms added to every request (a
 * service that is some distance away), side by side:
 *   - ours: submitBatch (createReplicas at `--concurrency`, default 32, the manifest written as outcomes
 *     arrive), from a plan made just beforehand, exactly as `canfar-lab submit` does: the plan's session
 *     listing (taken while planning, which no algorithm's timing includes) is less than a minute old, so
 *     the launch uses it as its reconciliation baseline and sends no listing of its own. `--own-listing`
 *     makes ours list again before launching (as a plan older than a minute would, and as it always did
 *     before the baseline option), to show what that round trip costs;
 *   - official: the official Python client's algorithm, 32 POSTs in flight, no retries, no listing;
 *   - docs loop: the naive loop of the CANFAR docs, 3 POSTs at a time, waiting for each group of 3.
 * The server gets one core and every replica runs `sleep 600`: the first replica holds the core and the
 * others queue (Pending), so the server starts no processes and the figures measure the launch
 * algorithms, not process start-up on this machine. A fresh server per measurement. Figures only.
 *
 * Each figure is the median of `--repeat` measurements (default 3), the three algorithms taking turns.
 *
 *   npm run bench:launch -- [--sizes 10,100,500] [--latency 100] [--concurrency 32] [--repeat 3] [--own-listing]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { fetchPlatformInfo, planBatch, submitBatch } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { replicaName, SkahaClient } from '../src/skaha';
import type { SessionSpec } from '../src/skaha';
import { IMAGE, startTestServer } from '../test/helpers/local';
import { pythonNotebook } from '../test/helpers/notebooks';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10,100,500' },
    latency: { type: 'string', default: '100' },
    concurrency: { type: 'string', default: '32' },
    repeat: { type: 'string', default: '3' },
    'own-listing': { type: 'boolean', default: false },
  },
});
const SIZES = values.sizes.split(',').map(Number);
const LATENCY = Number(values.latency);
const CONCURRENCY = Number(values.concurrency);
const REPEAT = Number(values.repeat);
const OWN_LISTING = values['own-listing'];

const NOTEBOOK = pythonNotebook(['print(1)\n']);

type Algorithm = 'ours' | 'official' | 'docs loop';

/** One POST per replica with the official client's names and env, `width` at a time. */
async function pool(client: SkahaClient, spec: SessionSpec, n: number, width: number): Promise<number> {
  let next = 1;
  let launched = 0;
  const worker = async () => {
    while (next <= n) {
      const i = next++;
      try {
        await client.create({
          ...spec,
          name: replicaName(spec.name, i, n),
          env: { ...spec.env, REPLICA_ID: String(i), REPLICA_COUNT: String(n) },
        });
        launched += 1;
      } catch {
        // The official client leaves failed replicas out silently.
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
  return launched;
}

/** Groups of 3, each group awaited before the next starts. */
async function groups(client: SkahaClient, spec: SessionSpec, n: number): Promise<number> {
  let launched = 0;
  for (let start = 1; start <= n; start += 3) {
    const group = [];
    for (let i = start; i < start + 3 && i <= n; i++) {
      group.push(
        client
          .create({
            ...spec,
            name: replicaName(spec.name, i, n),
            env: { ...spec.env, REPLICA_ID: String(i), REPLICA_COUNT: String(n) },
          })
          .then(() => (launched += 1))
          .catch(() => undefined),
      );
    }
    await Promise.all(group);
  }
  return launched;
}

async function measure(algorithm: Algorithm, n: number): Promise<{ ms: number; launched: number }> {
  // The tests' server setup (fresh state dir and home, removed by dispose), queued behind one core.
  const { server, home, dispose } = await startTestServer({
    cores: 1,
    ramGB: 16384,
    faults: { latencyMs: LATENCY },
  });
  const transport = createNodeTransport({ token: server.token, maxConnections: 128 });
  try {
    const client = new SkahaClient({ baseUrl: server.apiUrl, transport });
    writeFileSync(join(home, 'nb.ipynb'), NOTEBOOK);
    const store = new NodeBatchStore(home);
    const plan = await planBatch(
      { notebookPath: 'nb.ipynb', notebookText: NOTEBOOK, replicas: n, image: IMAGE },
      await fetchPlatformInfo(client),
      store,
    );
    plan.spec = { ...plan.spec, cmd: 'sleep', args: ['600'] };
    const start = process.hrtime.bigint();
    let launched: number;
    if (algorithm === 'ours')
      launched = (
        await submitBatch(plan, {
          client,
          store,
          concurrency: CONCURRENCY,
          ...(OWN_LISTING ? { baselineMaxAgeMs: 0 } : {}),
        })
      ).launched;
    else if (algorithm === 'official') launched = await pool(client, plan.spec, n, 32);
    else launched = await groups(client, plan.spec, n);
    return { ms: Number(process.hrtime.bigint() - start) / 1e6, launched };
  } finally {
    await transport.close();
    await dispose();
  }
}

async function main(): Promise<void> {
  console.log(
    `Launching N replicas (queued behind one core) on the local server, ${LATENCY} ms added per request; ours at concurrency ${CONCURRENCY}, ${OWN_LISTING ? 'listing sessions itself first' : 'on the planning listing (no listing of its own)'}; median of ${REPEAT} runs.`,
  );
  const algorithms: Algorithm[] = ['ours', 'official', 'docs loop'];
  const rows: string[][] = [
    ['N', ...algorithms.map((a) => `${a} (s)`), 'official / ours', 'docs loop / ours'],
  ];
  for (const n of SIZES) {
    const samples: Record<string, number[]> = {};
    for (let round = 0; round < REPEAT; round++) {
      for (const algorithm of algorithms) {
        const { ms, launched } = await measure(algorithm, n);
        if (launched !== n) console.log(`  note: ${algorithm} launched ${launched}/${n}`);
        (samples[algorithm] ??= []).push(ms);
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
    const times = Object.fromEntries(algorithms.map((a) => [a, median(samples[a])]));
    rows.push([
      String(n),
      ...algorithms.map((a) => (times[a] / 1000).toFixed(2)),
      `${(times.official / times.ours).toFixed(2)}x`,
      `${(times['docs loop'] / times.ours).toFixed(2)}x`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padStart(widths[i])).join('  '));
  console.log(
    OWN_LISTING
      ? 'A ratio above 1 means ours is faster. Ours (--own-listing) lists sessions once before launching, as its reconciliation baseline.'
      : 'A ratio above 1 means ours is faster. Ours launches on the session listing made while planning (under a minute old, as\nwith `canfar-lab submit`) as its reconciliation baseline, so it sends no listing of its own (--own-listing: it lists first).',
  );
  console.log(
    'Ours also writes batch.json as outcomes arrive, and retries transient failures without ever creating a replica twice.',
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
