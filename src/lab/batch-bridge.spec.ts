/**
 * The bridge from the dialog to src/batch, over a real SkahaClient whose transport answers like a tiny
 * Skaha service held in memory, and src/batch's in-memory store.
 */
import { MemoryBatchStore } from '../batch';
import { decodeParamEnv } from '../convert';
import { BatchBridge } from './batch-bridge';
import { groupSessions } from './grouping';
import { CanfarModel } from './model';
import { defaultName } from './submit';
import type { SubmitRequest } from './submit-plugin';
import { DEFAULT_SETTINGS } from './tokens';
import { CONTEXT, INFO_OK, skahaInMemory } from './testing.test';

const notebook = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: {
    kernelspec: { name: 'python3', language: 'python', display_name: 'Python 3' },
    language_info: { name: 'python' },
  },
  cells: [
    {
      cell_type: 'code',
      id: 'p',
      metadata: { tags: ['parameters'] },
      source: 'alpha = 0.5\n',
      outputs: [],
      execution_count: null,
    },
    {
      cell_type: 'code',
      id: 'w',
      metadata: {},
      source: 'print(alpha)\n',
      outputs: [],
      execution_count: null,
    },
  ],
};

function request(overrides: Partial<SubmitRequest['value']> = {}): SubmitRequest {
  return {
    notebookPath: 'work/sweep.ipynb',
    notebookText: JSON.stringify(notebook),
    value: {
      name: 'sweep',
      image: 'images.canfar.net/skaha/astroml:latest',
      replicas: 3,
      env: { MODE: 'fast' },
      params: { alpha: '0.9' },
      policy: 'translate',
      ...overrides,
    },
    settings: DEFAULT_SETTINGS,
    platform: { notebookPath: 'work/sweep.ipynb', context: CONTEXT, repositories: ['images.canfar.net'] },
    sessions: [],
  };
}

describe('BatchBridge', () => {
  it("previews src/batch's plan and maps its refusals onto the form's fields", async () => {
    const { client } = skahaInMemory('Running');
    const bridge = new BatchBridge({ client, store: new MemoryBatchStore('/arc/home/jdoe') });
    expect(bridge.parameters(notebook)).toEqual([{ name: 'alpha', type: 'float', default: '0.5' }]);
    const ok = await bridge.preview(request());
    expect(ok.plan?.names).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
    expect(ok.plan?.absoluteFolder).toMatch(
      /^\/arc\/home\/jdoe\/work\/canfar-batches\/\d{8}-\d{6}-[a-z0-9]{4}$/,
    );
    const refused = await bridge.preview(request({ params: { beta: '1' }, cores: 3, ram: 8 }));
    expect(refused.plan).toBeUndefined();
    const fields = refused.problems?.map((p) => p.field);
    expect(fields).toContain('param:beta');
    expect(fields).toContain('cores');
    expect(refused.problems?.find((p) => p.field === 'param:beta')?.message).toMatch(
      /not a parameter of the notebook.*alpha/,
    );
  });

  it("plans with the dialog's batch id: the same notebook submitted twice in a row, default names, both launched", async () => {
    const { client, sessions } = skahaInMemory('Running');
    const bridge = new BatchBridge({ client, store: new MemoryBatchStore('/arc/home/jdoe') });
    const submissions = ['20260721-180000-k3x9', '20260721-180005-p0q1'].map((batchId) => ({
      ...request({ name: defaultName('work/sweep.ipynb', batchId), replicas: 2 }),
      batchId,
    }));
    const preview = await bridge.preview(submissions[0]);
    expect(preview.plan?.names).toEqual(['sweep-k3x9-1', 'sweep-k3x9-2']);
    expect(preview.plan?.absoluteFolder).toBe('/arc/home/jdoe/work/canfar-batches/20260721-180000-k3x9');
    const first = await bridge.submit(submissions[0], () => undefined);
    expect(first).toMatchObject({ batchId: '20260721-180000-k3x9', launched: 2, failed: 0 });
    // The first batch's sessions are listed (running) when the second is planned: no clash.
    const listed = await client.list();
    const second = { ...submissions[1], sessions: listed };
    expect((await bridge.preview(second)).problems).toBeUndefined();
    expect(await bridge.submit(second, () => undefined)).toMatchObject({
      batchId: '20260721-180005-p0q1',
      launched: 2,
    });
    expect(sessions.map((s) => s.name)).toEqual([
      'sweep-k3x9-1',
      'sweep-k3x9-2',
      'sweep-p0q1-1',
      'sweep-p0q1-2',
    ]);
  });

  it('submits N replicas, writes the batch folder, and shows them as one recorded batch', async () => {
    const { client, sessions } = skahaInMemory('Running');
    const store = new MemoryBatchStore('/arc/home/jdoe');
    const remembered: string[] = [];
    const bridge = new BatchBridge({
      client,
      store,
      remember: async (folder) => void remembered.push(folder),
    });
    const progress: string[] = [];
    const outcome = await bridge.submit(request(), (text) => progress.push(text));
    expect(outcome).toMatchObject({ launched: 3, failed: 0, total: 3, failures: [] });
    expect(sessions.map((s) => s.name).sort()).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
    const first = sessions.find((s) => s.name === 'sweep-1')!;
    expect(first.env).toEqual(
      expect.arrayContaining(['REPLICA_ID=1', 'REPLICA_COUNT=3', 'MODE=fast', 'CANFAR_PARAM_alpha=0.9']),
    );
    expect(first.args).toBe(`/arc/home/jdoe/${outcome.folder}/run.sh`);
    expect(await store.exists(`${outcome.folder}/batch.json`)).toBe(true);
    expect(remembered).toEqual([outcome.folder]);
    expect(progress[progress.length - 1]).toBe('3/3 started');

    const listed = await client.list();
    const summaries = await bridge.batches(listed);
    const grouped = groupSessions(listed, summaries);
    expect(grouped.batches).toHaveLength(1);
    expect(grouped.batches[0]).toMatchObject({
      key: outcome.batchId,
      name: 'sweep',
      total: 3,
      counts: { Running: 3 },
    });
    expect(grouped.batches[0].replicas.map((r) => r.session?.name)).toEqual([
      'sweep-1',
      'sweep-2',
      'sweep-3',
    ]);
  });

  it('re-runs only the failed replica in the same batch folder, with its own name, REPLICA_ID and REPLICA_COUNT', async () => {
    const { client, sessions } = skahaInMemory('Running');
    const store = new MemoryBatchStore('/arc/home/jdoe');
    const bridge = new BatchBridge({ client, store });
    const first = await bridge.submit(request(), () => undefined);
    sessions.find((s) => s.name === 'sweep-2')!.status = 'Failed';
    for (const s of sessions) if (s.name !== 'sweep-2') s.status = 'Completed';
    await bridge.batches(await client.list());
    const failed = sessions.find((s) => s.name === 'sweep-2')!;
    const again = await bridge.rerun(first.batchId, true, 4, () => undefined);
    expect(again).toMatchObject({
      batchId: first.batchId,
      folder: first.folder,
      launched: 1,
      total: 1,
      failed: 0,
    });
    const rerun = sessions[sessions.length - 1];
    expect(rerun.name).toBe('sweep-2');
    expect(rerun.id).not.toBe(failed.id);
    expect(rerun.env).toEqual(expect.arrayContaining(['REPLICA_ID=2', 'REPLICA_COUNT=3']));
    const summaries = await bridge.batches(await client.list());
    const summary = summaries.find((b) => b.id === first.batchId)!;
    expect(summary.total).toBe(3);
    expect(summary.replicas[1]).toMatchObject({
      index: 2,
      sessionId: rerun.id,
      status: 'Running',
      state: 'running',
    });
    const manifest = JSON.parse(await store.readText(`${first.folder}/batch.json`));
    expect(manifest.replicas[1].history).toEqual([
      expect.objectContaining({ launch: expect.objectContaining({ sessionId: failed.id }) }),
    ]);
  });

  it('"Delete all" deletes the sessions and hides the batch, also after a reload; its files stay', async () => {
    const { client, sessions } = skahaInMemory('Running');
    const store = new MemoryBatchStore('/arc/home/jdoe');
    const bridge = new BatchBridge({ client, store, scanDirs: () => ['work'] });
    const kept = await bridge.submit(request({ name: 'other' }), () => undefined);
    const gone = await bridge.submit(request(), () => undefined);
    // What run.sh and the notebook wrote into the folder of the batch to delete.
    const files = {
      [`${gone.folder}/logs/replica-1.log`]: 'replica 1 of 3 squares [0, 1, 4, 9]\n',
      [`${gone.folder}/status/replica-1.json`]: '{"replica":1,"state":"finished","exitCode":0}',
      [`${gone.folder}/outputs/replica-1/result.csv`]: 'x,y\n1,2\n',
    };
    for (const [path, text] of Object.entries(files)) await store.writeTextAtomic(path, text);
    const before = [...store.files.keys()].filter((path) => path.startsWith(gone.folder)).sort();

    const model = new CanfarModel({ service: client, info: async () => INFO_OK });
    model.setBatchSource({
      batches: (listed) => bridge.batches(listed),
      markDeleted: (id) => bridge.markDeleted(id),
    });
    try {
      await model.refresh();
      const group = model.findBatch(gone.batchId)!;
      expect(group.counts).toEqual({ Completed: 1, Running: 2 });
      expect(await model.deleteBatch(group)).toEqual([]);
      // Gone from the panel at once, before the next poll.
      expect(model.state.grouped.batches.map((g) => g.key)).toEqual([kept.batchId]);

      // The platform still lists its sessions (Terminating): they show neither as the batch nor as a
      // batch of their own grouped by name; the other batch is untouched.
      const names = (status: string) =>
        sessions
          .filter((s) => s.status === status)
          .map((s) => s.name)
          .sort();
      expect(names('Terminating')).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
      expect(names('Running')).toEqual(['other-1', 'other-2', 'other-3']);
      await model.refresh();
      expect(model.state.grouped.batches.map((g) => g.key)).toEqual([kept.batchId]);
      expect(model.state.grouped.others).toEqual([]);

      // Recorded in batch.json; every file is still there, unchanged.
      const manifest = JSON.parse(await store.readText(`${gone.folder}/batch.json`));
      expect(Date.parse(manifest.deletedAt)).not.toBeNaN();
      expect([...store.files.keys()].filter((path) => path.startsWith(gone.folder)).sort()).toEqual(before);
      for (const [path, text] of Object.entries(files)) expect(await store.readText(path)).toBe(text);

      // Another browser (or a reload) finds the folder by scanning and keeps it hidden.
      const reloaded = new BatchBridge({ client, store, scanDirs: () => ['work'] });
      const listed = await client.list();
      const grouped = groupSessions(listed, await reloaded.batches(listed));
      expect(grouped.batches.map((g) => g.key)).toEqual([kept.batchId]);
    } finally {
      model.dispose();
    }
  });
});

describe('BatchBridge: sweeps, any value, canary, and the monitor data for the panel', () => {
  const queryNotebook = {
    ...notebook,
    cells: [
      {
        ...notebook.cells[0],
        source: 'alpha = 0.5\nmethod = "gaussian"\nQUERY = "SELECT * FROM t WHERE x=1"\n',
      },
      notebook.cells[1],
    ],
  };
  const withNotebook = (value: Partial<SubmitRequest['value']>): SubmitRequest => ({
    ...request(value),
    notebookText: JSON.stringify(queryNotebook),
  });

  it('a notebook whose parameter holds "=" plans unchanged (nothing sent) and overridden (sent encoded)', async () => {
    const { client } = skahaInMemory('Running');
    const bridge = new BatchBridge({ client, store: new MemoryBatchStore('/arc/home/jdoe') });
    expect((await bridge.preview(withNotebook({ params: {} }))).problems).toBeUndefined();
    const { client: other, sessions } = skahaInMemory('Running');
    const submitter = new BatchBridge({ client: other, store: new MemoryBatchStore('/arc/home/jdoe') });
    const value = 'a=b "c"\nü';
    await submitter.submit(withNotebook({ params: { QUERY: value }, replicas: 1 }), () => undefined);
    const sent = sessions[0].env.find((e) => e.startsWith('CANFAR_PARAM_QUERY='))!;
    expect(decodeParamEnv(sent.slice('CANFAR_PARAM_QUERY='.length))).toBe(value);
    expect(sessions[0].env.some((e) => e.startsWith('CANFAR_PARAM_alpha'))).toBe(false);
  });

  it('a sweep: the plan lists the first and last sets, problems go to the parameter they belong to', async () => {
    const { client } = skahaInMemory('Running');
    const bridge = new BatchBridge({ client, store: new MemoryBatchStore('/arc/home/jdoe') });
    const { plan } = await bridge.preview(
      withNotebook({
        params: {},
        replicas: 2,
        sweep: { alpha: ['0.1', '0.2', '0.3', '0.4'], method: ['a', 'b'] },
      }),
    );
    expect(plan?.names).toHaveLength(16);
    expect(plan?.sweep).toMatchObject({ parameters: ['alpha', 'method'], setCount: 8, shards: 2 });
    expect(plan?.sweep?.sets.map((s) => s.set)).toEqual([1, 2, 3, 6, 7, 8]);
    expect(plan?.sweep?.sets[5]).toEqual({
      set: 8,
      values: { alpha: '0.4', method: 'b' },
      sessions: ['sweep-8-1', 'sweep-8-2'],
    });
    const refused = await bridge.preview(
      withNotebook({ params: {}, sweep: { alpha: ['0.1', 'high'], nope: ['1'] } }),
    );
    expect(refused.problems).toEqual(
      expect.arrayContaining([
        { field: 'param:alpha', message: expect.stringMatching(/"high": must be a number/) },
        { field: 'param:nope', message: expect.stringMatching(/nope is not a parameter/) },
      ]),
    );
  });

  it('the panel data: state, set, shard, params, phase, sweep, resources, counts; a canary goes on when it completed', async () => {
    const { client, sessions } = skahaInMemory('Running');
    const store = new MemoryBatchStore('/arc/home/jdoe');
    const bridge = new BatchBridge({ client, store });
    const outcome = await bridge.submit(
      withNotebook({
        params: {},
        replicas: 1,
        cores: 2,
        ram: 8,
        sweep: { method: ['a', 'b', 'c'] },
        canary: true,
      }),
      () => undefined,
    );
    expect(outcome.total).toBe(1);
    expect(sessions.map((s) => s.name)).toEqual(['sweep-1']);
    let [summary] = await bridge.batches(await client.list());
    expect(summary).toMatchObject({
      phase: 'canary',
      sweep: { parameters: ['method'], sets: [{ method: 'a' }, { method: 'b' }, { method: 'c' }], shards: 1 },
      resources: { cores: 2, ram: 8 },
      counts: { total: 3, running: 1, launching: 2 },
    });
    expect(summary.replicas.map((r) => [r.state, r.set, r.params?.method])).toEqual([
      ['running', 1, 'a'],
      ['launching', 2, 'b'],
      ['launching', 3, 'c'],
    ]);
    // The canary completes (its run.sh writes its status); the next poll launches the other two.
    sessions[0].status = 'Completed';
    await store.writeTextAtomic(
      `${outcome.folder}/status/replica-1.json`,
      JSON.stringify({ replica: 1, attempt: 1, state: 'finished', exitCode: 0, sessionId: sessions[0].id }),
    );
    [summary] = await bridge.batches(await client.list());
    expect(sessions.map((s) => s.name)).toEqual(['sweep-1', 'sweep-2', 'sweep-3']);
    expect(sessions[2].env).toEqual(expect.arrayContaining(['CANFAR_SET_ID=3', 'CANFAR_PARAM_method=c']));
    expect(summary.phase).toBe('running');
    // Launched after this poll's session list was made: pending until the next list shows them.
    expect(summary.replicas.map((r) => [r.state, r.attempt])).toEqual([
      ['completed', 1],
      ['pending', undefined],
      ['pending', undefined],
    ]);
    [summary] = await bridge.batches(await client.list());
    expect(summary.replicas.map((r) => r.state)).toEqual(['completed', 'running', 'running']);
    // A second watcher (another tab) never launches them twice.
    const other = new BatchBridge({ client, store, knownFolders: async () => [outcome.folder] });
    await other.batches(await client.list());
    expect(sessions).toHaveLength(3);
  });
});
