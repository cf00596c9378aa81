/**
 * What the extension does for the Python `%canfar` magic: the kernel's request (its options parsed with the
 * CLI's declaration) planned and launched by src/batch through BatchBridge, watched through the panel's
 * model, and answered with the CLI's JSON shapes; bad input answered as usage errors naming the verb.
 */
import { UsageError } from '../batch';
import { errorJson, KernelVerbs, underRoot } from './kernel-verbs';
import type { KernelRequest } from './kernel-verbs';
import { modelWithBatches } from './testing.test';

async function setup() {
  const { client, sessions, store, bridge, model } = await modelWithBatches();
  const verbs = new KernelVerbs({ bridge, model, client, store, sleep: async () => undefined });
  const progress: unknown[] = [];
  const report = async (value: unknown) => {
    progress.push(value);
    return { cancelled: false };
  };
  const run = (request: Partial<KernelRequest>) =>
    verbs.run(
      { verb: 'submit', values: {}, positionals: [], cwd: 'work', ...request },
      report,
      new AbortController().signal,
    );
  return { client, sessions, store, bridge, model, progress, run };
}

describe('KernelVerbs', () => {
  it('submit launches the notebook under the batch id the kernel chose, reporting the launch', async () => {
    const { sessions, store, progress, run } = await setup();
    const batchId = '20260721-180000-abcd';
    const result = (await run({
      values: { replicas: '3', name: 'other', env: ['MODE=fast'] },
      positionals: ['other.ipynb'],
      batchId,
    })) as { submitted: Record<string, unknown> };
    expect(result.submitted).toMatchObject({
      batchId,
      name: 'other',
      notebook: 'work/other.ipynb',
      folder: `work/canfar-batches/${batchId}`,
      absoluteFolder: `/arc/home/jdoe/work/canfar-batches/${batchId}`,
      launched: 3,
      failed: 0,
      total: 3,
    });
    expect(sessions.map((s) => s.name)).toEqual(['other-1', 'other-2', 'other-3']);
    expect(sessions[0].env).toEqual(expect.arrayContaining(['MODE=fast', `CANFAR_BATCH_ID=${batchId}`]));
    expect(await store.exists(`work/canfar-batches/${batchId}/batch.json`)).toBe(true);
    expect(progress[progress.length - 1]).toEqual({ stage: 'launched', submitted: result.submitted });
    expect(progress).toContainEqual({ stage: 'launching', launched: 3, failed: 0, total: 3 });
  });

  it('with --follow, it follows the batch through the model until every replica has ended', async () => {
    const { sessions, progress, run, model } = await setup();
    let polls = 0;
    const refresh = model.refresh.bind(model);
    model.refresh = async () => {
      // The replicas run at the second poll and complete at the fourth.
      polls++;
      for (const s of sessions) s.status = polls >= 4 ? 'Completed' : polls >= 2 ? 'Running' : 'Pending';
      await refresh();
    };
    const result = (await run({
      values: { replicas: '2', follow: true },
      positionals: ['other.ipynb'],
      follow: true,
    })) as { view: { done: boolean; counts: Record<string, number> } };
    expect(result.view.done).toBe(true);
    expect(result.view.counts).toMatchObject({ total: 2, completed: 2 });
    const watched = progress.filter((p) => (p as { stage: string }).stage === 'watching') as {
      view: { counts: { running: number } };
    }[];
    expect(watched.some((p) => p.view.counts.running === 2)).toBe(true);
  });

  it('refuses bad input as usage errors of the verb, before anything is written or launched', async () => {
    const { sessions, store, run } = await setup();
    await expect(run({ values: {}, positionals: ['other.ipynb'] })).rejects.toThrow(
      '-r/--replicas N is required',
    );
    await expect(run({ values: { replicas: '2' }, positionals: ['gone.ipynb'] })).rejects.toThrow(
      /cannot read the notebook gone.ipynb \(work\/gone.ipynb under the Jupyter root\)/,
    );
    const error = await run({ values: { replicas: 'two' }, positionals: ['other.ipynb'] }).catch((e) => e);
    expect(errorJson(error, 'submit')).toEqual({
      code: 'usage',
      verb: 'submit',
      message: '--replicas must be a whole number >= 1, not "two"',
    });
    const plan = await run({
      values: { replicas: '2', cores: '3', ram: '8' },
      positionals: ['other.ipynb'],
    }).catch((e) => e);
    const json = errorJson(plan, 'submit');
    expect(json.code).toBe('invalid-input');
    expect((json.problems as string[]).join('\n')).toMatch(/cores/);
    expect(sessions).toEqual([]);
    expect(await store.exists('work/canfar-batches')).toBe(false);
  });

  it('batches lists the batches beside the notebook with the CLI shapes; batch-status reads one', async () => {
    const { run, sessions } = await setup();
    const { submitted } = (await run({ values: { replicas: '2' }, positionals: ['other.ipynb'] })) as {
      submitted: { batchId: string };
    };
    for (const s of sessions) s.status = 'Completed';
    const listed = (await run({ verb: 'batches' })) as { batchId: string; counts: { completed: number } }[];
    expect(listed.map((b) => b.batchId)).toEqual([submitted.batchId]);
    expect(listed[0].counts.completed).toBe(2);
    const one = (await run({ verb: 'batch-status', batchId: submitted.batchId })) as { done: boolean };
    expect(one.done).toBe(true);
    await expect(run({ verb: 'batch-status', batchId: '20990101-000000-zzzz' })).rejects.toThrow(
      'batch 20990101-000000-zzzz not found in work/canfar-batches/',
    );
  });

  it('paths stay under the Jupyter root', () => {
    expect(underRoot('work', 'other.ipynb', 'submit')).toBe('work/other.ipynb');
    expect(underRoot('work/a', '../b/x.ipynb', 'submit')).toBe('work/b/x.ipynb');
    expect(underRoot('', './x.ipynb', 'submit')).toBe('x.ipynb');
    expect(() => underRoot('work', '../../x.ipynb', 'submit')).toThrow(UsageError);
    expect(() => underRoot('work', '/etc/x.ipynb', 'submit')).toThrow(/relative to the notebook's folder/);
  });
});
