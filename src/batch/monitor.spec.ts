// The monitor's reading of what CANFAR does since July 2026 (queued, preempted and requeued replicas), of
// attempts and final outcomes, and of a batch's phase and combine step: a scripted platform (the session
// list as the service answers it, one poll at a time) and a batch folder in memory.
import { failedReplicas, rerunCombine } from './actions';
import { combineRunner } from './monitor';
import { BatchMonitor } from './monitor';
import { planBatch } from './plan';
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
    {
      cell_type: 'code',
      id: 'b',
      metadata: { tags: ['combine'] },
      source: 'print(2)\n',
      outputs: [],
      execution_count: null,
    },
  ],
});

async function batch(replicas = 3) {
  const store = new MemoryBatchStore('/arc/home/jdoe');
  const plan = await planBatch(
    { notebookPath: 'nb.ipynb', notebookText: NOTEBOOK, replicas, image: IMAGE },
    {},
    store,
  );
  const world = platformInMemory();
  await submitBatch(plan, { client: world.client, store });
  const monitor = new BatchMonitor({ client: world.client, store, pullCheckSeconds: 0 });
  await monitor.add(plan.folder);
  const status = (replica: number, fields: Partial<ReplicaStatusFile>) =>
    store.writeTextAtomic(
      `${plan.folder}/status/replica-${replica}.json`,
      JSON.stringify({ schema: 2, replica, sessionId: world.sessions[replica - 1]?.id, ...fields }),
    );
  const poll = async () => (await monitor.poll())[0];
  return { store, plan, world, monitor, status, poll };
}

test('queued (no pod: no events asked), then running; preempted: requeued, never failed; attempt 2 is the outcome', async () => {
  const { world, status, poll } = await batch(2);
  let view = await poll();
  expect(view.replicas.map((r) => r.state)).toEqual(['queued', 'queued']);
  expect(view.counts).toMatchObject({ queued: 2, pending: 0 });
  expect(view.phase).toBe('running');
  expect(world.events).toEqual([]);

  // Admitted: the pod exists (a start time), the image is being pulled: now its events are worth a look.
  world.set(0, 'Pending', true);
  view = await poll();
  expect(view.replicas[0].state).toBe('pending');
  expect(world.events).toEqual([world.sessions[0].id]);

  world.set(0, 'Running', true);
  await status(1, { attempt: 1, state: 'running' });
  view = await poll();
  expect(view.replicas[0]).toMatchObject({ state: 'running', attempt: 1 });

  // Preempted: SIGTERM (run.sh records the attempt interrupted), back to Pending without a start time.
  await status(1, { attempt: 1, state: 'interrupted', signal: 'TERM', exitCode: 143 });
  world.set(0, 'Pending', false);
  view = await poll();
  expect(view.replicas[0]).toMatchObject({ state: 'requeued', attempt: 1 });
  expect(view.replicas[0].message).toMatch(
    /preempted after attempt 1: waiting in the platform's queue to run again/,
  );
  expect(view.counts).toMatchObject({ requeued: 1, queued: 1, failed: 0 });
  expect(failedReplicas(view)).toEqual([]);
  expect(view.combine).toMatchObject({ state: 'waiting' });
  expect(world.events).toHaveLength(1);

  // Readmitted and run again from the start: attempt 2 completes.
  world.set(0, 'Running', true);
  await status(1, { attempt: 2, state: 'running' });
  view = await poll();
  expect(view.replicas[0]).toMatchObject({ state: 'running', attempt: 2 });
  await status(1, { attempt: 2, state: 'finished', exitCode: 0 });
  world.set(0, 'Completed', true);
  view = await poll();
  expect(view.replicas[0]).toMatchObject({ state: 'completed', attempt: 2, exitCode: 0 });
});

test('a session seen Running that goes back to Pending before run.sh wrote anything is requeued, not queued', async () => {
  const { world, poll } = await batch(1);
  world.set(0, 'Running', true);
  await poll();
  world.set(0, 'Pending', false);
  expect((await poll()).replicas[0].state).toBe('requeued');
});

test('an interrupted attempt whose session ended for good is failed, naming the signal', async () => {
  const { world, status, poll } = await batch(1);
  world.set(0, 'Running', true);
  await status(1, { attempt: 1, state: 'interrupted', signal: 'TERM', exitCode: 143 });
  world.set(0, 'Failed', true);
  const view = await poll();
  expect(view.replicas[0]).toMatchObject({
    state: 'failed',
    message: 'stopped by SIGTERM (attempt 1) and not run again',
  });
  expect(view.replicas[0].exitCode).toBeUndefined();
});

test('output missing counts as failed, and the combine is skipped', async () => {
  const { world, status, poll } = await batch(3);
  for (const i of [0, 1, 2]) world.set(i, 'Running', true);
  await status(1, { attempt: 1, state: 'finished', exitCode: 0 });
  await status(2, { attempt: 1, state: 'finished', exitCode: 0, outputsMissing: ['parts/part-2.json'] });
  world.set(0, 'Completed', true);
  world.set(1, 'Completed', true);
  const view = await poll();
  expect(view.replicas.map((r) => r.state)).toEqual(['completed', 'output-missing', 'running']);
  expect(view.replicas[1].message).toBe('exit 0, but expected output(s) missing: parts/part-2.json');
  expect(view.counts).toMatchObject({ failed: 1, outputMissing: 1 });
  expect(view.combine).toMatchObject({ state: 'skipped' });
  expect(view.phase).toBe('running');
  expect(failedReplicas(view)).toEqual([2]);
});

test('phase and combine: combining while the last replica runs it, then done', async () => {
  const { world, status, poll, store, plan, monitor } = await batch(3);
  for (const i of [0, 1, 2]) world.set(i, 'Running', true);
  for (const i of [1, 2, 3]) await status(i, { attempt: 1, state: 'finished', exitCode: 0 });
  world.set(0, 'Completed', true);
  world.set(1, 'Completed', true);
  let view = await poll();
  view = await poll();
  // Every replica completed; the last one's session still runs: the combine is about to start there.
  expect(view.replicas.map((r) => r.state)).toEqual(['completed', 'completed', 'completed']);
  expect(view.phase).toBe('combining');
  expect(view.combine).toMatchObject({ state: 'waiting' });
  expect(view.done).toBe(false);
  await store.writeTextAtomic(
    `${plan.folder}/status/combine.json`,
    JSON.stringify({
      schema: 2,
      replica: 'combine',
      runBy: 3,
      attempt: 1,
      state: 'running',
      start: '2026-08-01T00:00:00Z',
    }),
  );
  view = await poll();
  expect(view.combine).toMatchObject({ state: 'running', replica: 3, log: 'logs/combine.log' });
  await store.writeTextAtomic(
    `${plan.folder}/status/combine.json`,
    JSON.stringify({ schema: 2, replica: 'combine', runBy: 3, attempt: 1, state: 'finished', exitCode: 0 }),
  );
  world.set(2, 'Completed', true);
  view = await poll();
  expect(view).toMatchObject({ phase: 'done', done: true, combine: { state: 'completed', exitCode: 0 } });
  // batch.json records how it ended.
  await monitor.flush();
  expect(JSON.parse(await store.readText(`${plan.folder}/batch.json`)).combine).toMatchObject({
    file: 'combine.py',
    cells: [1],
    outcome: { state: 'completed', replica: 3, exitCode: 0 },
  });
});

test('a combine nobody started, with every session ended, is reported failed (never waits forever)', async () => {
  const { world, status, poll } = await batch(2);
  for (const i of [0, 1]) {
    world.set(i, 'Completed', true);
    await status(i + 1, { attempt: 1, state: 'finished', exitCode: 0 });
  }
  const view = await poll();
  expect(view.combine).toMatchObject({
    state: 'failed',
    message: 'every replica completed but none started the combine',
  });
  expect(view.done).toBe(true);
});

test('re-run combine: one session of its own, waited for until its status file reaches the attempt', async () => {
  const { world, status, poll, store, plan, monitor } = await batch(2);
  for (const i of [0, 1]) {
    world.set(i, 'Completed', true);
    await status(i + 1, { attempt: 1, state: 'finished', exitCode: 0 });
  }
  const combineStatus = (fields: Partial<ReplicaStatusFile>) =>
    store.writeTextAtomic(
      `${plan.folder}/status/combine.json`,
      JSON.stringify({ schema: 2, replica: 'combine', ...fields }),
    );
  await combineStatus({ runBy: 2, attempt: 1, state: 'finished', exitCode: 1 });
  let view = await poll();
  expect(view.combine).toMatchObject({ state: 'failed', exitCode: 1, replica: 2 });

  const first = await rerunCombine(world.client, store, view);
  expect(first).toMatchObject({ attempt: 2, name: `${plan.name}-combine` });
  expect(world.sessions).toHaveLength(3);
  // The session runs run.sh for attempt 2 of the combine, and is no replica.
  const env = (world.sessions[2].raw as { env: Record<string, string> }).env;
  expect(env).toMatchObject({ CANFAR_COMBINE_RERUN: '2', CANFAR_BATCH_ID: plan.batchId });
  expect(env.REPLICA_ID).toBeUndefined();
  view = await poll();
  expect(view).toMatchObject({ phase: 'combining', done: false });
  expect(view.combine).toMatchObject({ state: 'waiting', attempt: 2, session: first.sessionId });
  // Clicked again meanwhile: refused, nothing launched.
  await expect(rerunCombine(world.client, store, view)).rejects.toThrow(
    `the combine of batch ${plan.batchId} is waiting (re-run launched in session ${first.sessionId}): wait for it to end`,
  );
  expect(world.sessions).toHaveLength(3);

  // Its session ends before run.sh started the combine (an image that cannot be pulled): failed, not
  // waiting forever, and it can be re-run (attempt 2 still, the status file being at 1).
  world.set(2, 'Failed', true);
  view = await poll();
  expect(view.combine).toMatchObject({
    state: 'failed',
    message: `its session ${first.sessionId} ended (Failed) before the combine started`,
  });
  const second = await rerunCombine(world.client, store, view);
  expect(second.attempt).toBe(2);
  world.set(3, 'Running', true);
  await combineStatus({ runBy: 'session', attempt: 2, state: 'running' });
  view = await poll();
  expect(view.combine).toMatchObject({ state: 'running', session: second.sessionId });
  expect(combineRunner(view.combine!)).toBe(`session ${second.sessionId} (re-run)`);
  // Preempted: interrupted while its session waits to run again; not re-run meanwhile.
  await combineStatus({ runBy: 'session', attempt: 2, state: 'interrupted', signal: 'TERM' });
  world.set(3, 'Pending', false);
  view = await poll();
  expect(view.combine).toMatchObject({ state: 'interrupted', message: 'stopped by SIGTERM' });
  await expect(rerunCombine(world.client, store, view)).rejects.toThrow(
    /was stopped by SIGTERM \(preempted\): the platform runs it again in the session that ran it/,
  );
  world.set(3, 'Failed', true);
  view = await poll();
  expect(view.combine).toMatchObject({
    state: 'failed',
    message: `stopped by SIGTERM, and its session ${second.sessionId} ended: nothing runs it again`,
  });
  // Run again by the platform, then killed without a trace (its session ended while the status says
  // running): failed.
  world.set(3, 'Running', true);
  await combineStatus({ runBy: 'session', attempt: 2, state: 'running' });
  view = await poll();
  expect(view.combine).toMatchObject({ state: 'running' });
  world.set(3, 'Error', true);
  view = await poll();
  expect(view.combine).toMatchObject({
    state: 'failed',
    message: `its session ${second.sessionId} ended while running the combine`,
  });
  world.set(3, 'Running', true);
  await combineStatus({ runBy: 'session', attempt: 2, state: 'finished', exitCode: 0 });
  view = await poll();
  expect(view).toMatchObject({ phase: 'done', combine: { state: 'completed', exitCode: 0 } });
  await expect(rerunCombine(world.client, store, view)).rejects.toThrow(/already completed with exit 0/);
  await monitor.flush();
  expect(JSON.parse(await store.readText(`${plan.folder}/batch.json`)).combine).toMatchObject({
    outcome: { state: 'completed', exitCode: 0 },
    rerun: { count: 2, attempt: 2, sessionId: second.sessionId },
  });
});

test('a status file of an earlier launch (re-run failed in the same folder) says nothing of the new one', async () => {
  const { world, poll, status, plan, store } = await batch(2);
  await status(2, { attempt: 1, state: 'finished', exitCode: 1 });
  world.set(0, 'Completed', true);
  await status(1, { attempt: 1, state: 'finished', exitCode: 0 });
  world.set(1, 'Failed', true);
  expect((await poll()).replicas[1].state).toBe('failed');
  // Launched again: a new session for replica 2; its old status file still says exit 1.
  const again = await planBatch(
    {
      notebookPath: 'nb.ipynb',
      notebookText: '',
      replicas: 2,
      image: IMAGE,
      rerun: {
        parent: JSON.parse(await store.readText(`${plan.folder}/batch.json`)),
        script: '',
        replicaIds: [2],
        inPlace: { folder: plan.folder },
      },
    },
    { sessions: world.sessions },
    store,
  );
  await submitBatch(again, { client: world.client, store });
  const view = await poll();
  expect(view.replicas[1]).toMatchObject({ state: 'queued', sessionId: world.sessions[2].id });
  expect(view.replicas[1].exitCode).toBeUndefined();
  const manifest = JSON.parse(await store.readText(`${plan.folder}/batch.json`));
  expect(manifest.replicas[1].history).toHaveLength(1);
  expect(manifest.batchId).toBe(plan.batchId);
});
