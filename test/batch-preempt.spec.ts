// Replicas that run more than once (issue 17), end to end on the local server over real HTTP with real
// processes: every replica preempted once (`--preempt-after 2`: SIGTERM, back to Pending without a
// startTime, run again from the start), and seeded random preemption under launch faults. The batch still
// ends with every replica completed exactly once in its outcome, the logs hold every attempt, and no
// replica is ever counted failed that then completed.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BatchMonitor, fetchPlatformInfo, planBatch, submitBatch, UNSUCCESSFUL_STATES } from '../src/batch';
import type { BatchManifest, ReplicaStatusFile } from '../src/batch';
import { NodeBatchStore } from '../src/node/batch-store';
import { createNodeTransport } from '../src/node/transport';
import { SkahaClient } from '../src/skaha';
import { expectExit, runCli } from './helpers/cli';
import { IMAGE, LocalApi, startTestServer } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(300_000);

const SLEEPER = pythonNotebook([
  { source: 'import os, time\nfrom canfar_batch import write_atomic\n', tags: ['imports'] },
  { source: 'seconds = 4\n', tags: ['parameters'] },
  {
    source: `replica = os.environ["REPLICA_ID"]
print("replica", replica, "starts", flush=True)
time.sleep(seconds)
write_atomic("outputs/part-%s.txt" % replica, "done by replica %s\\n" % replica)
print("replica", replica, "wrote its output", flush=True)
`,
  },
]);

test('--preempt-after 2: 4 replicas sleeping 4 s are preempted once each, run again, and the batch completes', async () => {
  const { server, dispose, home } = await startTestServer({
    cores: 16,
    ramGB: 64,
    faults: { preemptAfterSeconds: 2 },
  });
  const dir = mkdtempSync(join(tmpdir(), 'canfar-preempt-'));
  try {
    writeFileSync(join(dir, 'sleeper.ipynb'), SLEEPER);
    const run = await runCli(
      [
        '--url',
        server.url,
        '--token',
        server.token,
        'submit',
        join(dir, 'sleeper.ipynb'),
        '-r',
        '4',
        '--follow',
        '--interval',
        '0.2',
      ],
      { PATH: process.env.PATH, HOME: home },
    );
    expectExit(run, 0);
    // --follow said what happened, replica by replica: requeued, then running attempt 2.
    expect(run.stdout).toMatch(
      /replica \d requeued: preempted after attempt 1: waiting in the platform's queue to run again/,
    );
    expect(run.stdout).toMatch(/replica \d running on \S+ \(attempt 2\)/);
    expect(run.stdout).toMatch(/batch \S+: 4\/4 done/);
    expect(readdirSync(join(dir, 'outputs')).sort()).toEqual([
      'part-1.txt',
      'part-2.txt',
      'part-3.txt',
      'part-4.txt',
    ]);
    const [batchId] = readdirSync(join(dir, 'canfar-batches'));
    const folder = join(dir, 'canfar-batches', batchId);
    for (let i = 1; i <= 4; i++) {
      const status = JSON.parse(
        readFileSync(join(folder, `status/replica-${i}.json`), 'utf8'),
      ) as ReplicaStatusFile;
      expect(status).toMatchObject({ replica: i, attempt: 2, state: 'finished', exitCode: 0 });
      const log = readFileSync(join(folder, `logs/replica-${i}.log`), 'utf8');
      // Both attempts, in order: the first stopped by SIGTERM, the second to the end.
      expect(log.match(/==== canfar: attempt \d of replica \d /g)).toEqual([
        `==== canfar: attempt 1 of replica ${i} `,
        `==== canfar: attempt 2 of replica ${i} `,
      ]);
      expect(log.match(new RegExp(`replica ${i} starts`, 'g'))).toHaveLength(2);
      expect(log).toContain(`replica ${i} (attempt 1) stopped by SIGTERM`);
      expect(log.match(new RegExp(`replica ${i} wrote its output`, 'g'))).toHaveLength(1);
    }
    const view = JSON.parse(
      (
        await runCli(['--url', server.url, '--token', server.token, '--json', 'batches', batchId, dir], {
          PATH: process.env.PATH,
          HOME: home,
        })
      ).stdout,
    );
    expect(view.replicas.map((r: { state: string; attempt: number }) => [r.state, r.attempt])).toEqual(
      Array(4).fill(['completed', 2]),
    );
  } finally {
    await dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A replica that works for `seconds` (a parameter) and prints when it is done. */
const SLEEPER_BODY = {
  source: 'import time\nprint("working", flush=True)\ntime.sleep(seconds)\nprint("done")\n',
};

// The fault test of the launch path (test/batch-faults.spec.ts) with seeded random preemption of running
// replicas on top: more runs with BATCH_PREEMPT_RUNS=10.
const RUNS = Number(process.env.BATCH_PREEMPT_RUNS ?? 3);
const REPLICAS = 10;

test(`${RUNS} seeded runs: launch faults and random preemption: no duplicate, none counted failed that completed later`, async () => {
  const totals = {
    replicas: 0,
    completed: 0,
    duplicates: 0,
    preempted: 0,
    failedThenCompleted: 0,
    requeuedSeen: 0,
  };
  const work = mkdtempSync(join(tmpdir(), 'canfar-preempt-faults-'));
  try {
    for (let seed = 1; seed <= RUNS; seed++) {
      const { server, dispose } = await startTestServer({
        cores: 64,
        ramGB: 256,
        faults: {
          seed,
          pathIncludes: '/session',
          unavailableRate: 0.1,
          dropRate: 0.05,
          createThenFailRate: 0.15,
          preemptRate: 0.6,
          preemptWithinSeconds: 1.5,
          preemptRequeueSeconds: 1,
        },
      });
      const transport = createNodeTransport({ token: server.token, timeoutMs: 5000 });
      try {
        const client = new SkahaClient({ baseUrl: server.apiUrl, transport });
        const dir = join(work, `run-${seed}`);
        mkdirSync(dir);
        const text = pythonNotebook([{ source: 'seconds = 2\n', tags: ['parameters'] }, SLEEPER_BODY]);
        writeFileSync(join(dir, 'nb.ipynb'), text);
        const store = new NodeBatchStore(dir);
        const plan = await planBatch(
          { notebookPath: 'nb.ipynb', notebookText: text, replicas: REPLICAS, image: IMAGE },
          await fetchPlatformInfo(client),
          store,
        );
        await submitBatch(plan, { client, store, concurrency: 4, retries: 6, retryDelayMs: 10 });
        const monitor = new BatchMonitor({ client, store, listGraceSeconds: 30 });
        await monitor.add(plan.folder);
        const everFailed = new Set<number>();
        for (;;) {
          let view;
          try {
            [view] = await monitor.poll();
          } catch {
            continue; // a faulty listing: poll again
          }
          for (const r of view.replicas) {
            if (UNSUCCESSFUL_STATES.has(r.state)) everFailed.add(r.replica);
            if (r.state === 'requeued') totals.requeuedSeen += 1;
          }
          if (view.done) {
            for (const r of view.replicas) {
              totals.replicas += 1;
              if (r.state === 'completed') totals.completed += 1;
              if (r.state === 'completed' && everFailed.has(r.replica)) totals.failedThenCompleted += 1;
              if ((r.attempt ?? 1) > 1) totals.preempted += 1;
            }
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
        await monitor.flush();
        const sessions = await new LocalApi(server).list('?type=headless').catch(() => []);
        const names = sessions.map((s) => s.name);
        totals.duplicates += names.length - new Set(names).size;
        const manifest = JSON.parse(
          readFileSync(join(dir, plan.folder, 'batch.json'), 'utf8'),
        ) as BatchManifest;
        expect(manifest.replicas.every((r) => r.launch?.state === 'launched')).toBe(true);
      } finally {
        await transport.close();
        await dispose();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`preemption under launch faults: ${JSON.stringify(totals)}`);
  expect(totals.replicas).toBe(RUNS * REPLICAS);
  expect(totals.duplicates).toBe(0);
  expect(totals.failedThenCompleted).toBe(0);
  expect(totals.completed).toBe(RUNS * REPLICAS);
  // Preemption did happen, and was seen as a requeue while it lasted.
  expect(totals.preempted).toBeGreaterThan(0);
  expect(totals.requeuedSeen).toBeGreaterThan(0);
});
