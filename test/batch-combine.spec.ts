// A batch as a small pipeline (issue 13), end to end on the local server over real HTTP with real replica
// processes, through the CLI: the combine cells run exactly once after every replica completed, without
// anything watching (the last replica to finish runs them); a failing replica means no combine until
// `batch rerun-failed` completes the batch; a canary goes first; expected outputs are checked.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { BatchManifest } from '../src/batch';
import { seededRandom } from '../src/skaha/random';
import { expectExit } from './helpers/cli';
import { cliSuite } from './helpers/local';
import { pythonNotebook } from './helpers/notebooks';

jest.setTimeout(400_000);

const ITEMS = 50;
const PIPELINE = pythonNotebook([
  {
    source: 'import glob, json, os, random, time\nfrom canfar.helpers import distributed\n',
    tags: ['imports'],
  },
  {
    source: 'deadline = 0.0\njitter_ms = 0\nseed = 0\nfail_replica = 0\nskip_replica = 0\n',
    tags: ['parameters'],
  },
  {
    source: `replica = int(os.environ.get("REPLICA_ID", "1"))
mine = list(distributed.chunk(range(${ITEMS})))
if deadline:
    # Every replica wakes at the same moment, give or take a few seeded milliseconds.
    random.seed(seed * 1000 + replica)
    time.sleep(max(0.0, deadline - time.time()) + random.random() * jitter_ms / 1000)
if replica == fail_replica and not os.path.exists("fixed"):
    raise RuntimeError("replica %d fails" % replica)
if replica != skip_replica:
    os.makedirs("parts", exist_ok=True)
    with open("parts/part-%d.json" % replica, "w") as out:
        json.dump(mine, out)
`,
  },
  {
    source: `from canfar_batch import replicas
states = [r["state"] for r in replicas()]
assert states and all(s == "completed" for s in states), states
merged = []
for path in sorted(glob.glob("parts/part-*.json")):
    merged += json.load(open(path))
json.dump(sorted(merged), open("final.json", "w"))
with open("combine-runs.txt", "a") as out:
    out.write("%s %d\\n" % (os.environ.get("CANFAR_BATCH_ID"), len(states)))
`,
    tags: ['combine'],
  },
]);

describe('combine, canary and expected outputs, end to end on the local server', () => {
  const suite = cliSuite('canfar-combine-e2e-', { cores: 16, ramGB: 64 });

  function folderWith(name: string): string {
    const dir = join(suite.work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'pipeline.ipynb'), PIPELINE);
    return dir;
  }
  const onlyBatch = (dir: string) => {
    const batches = readdirSync(join(dir, 'canfar-batches'));
    expect(batches).toHaveLength(1);
    return { batchId: batches[0], folder: join(dir, 'canfar-batches', batches[0]) };
  };
  const combineRuns = (dir: string) =>
    existsSync(join(dir, 'combine-runs.txt'))
      ? readFileSync(join(dir, 'combine-runs.txt'), 'utf8').trim().split('\n')
      : [];

  test('-r 6 --follow: final.json holds every item once, combine-runs.txt one line, --follow waited for it', async () => {
    const dir = folderWith('once');
    const run = await suite.follow(['submit', join(dir, 'pipeline.ipynb'), '-r', '6']);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/combine completed \(run by replica [1-6]; log logs\/combine\.log\)/);
    expect(run.stdout).toMatch(/6\/6 done.*combine completed/);
    const { batchId, folder } = onlyBatch(dir);
    expect(JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'))).toEqual(
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    expect(combineRuns(dir)).toEqual([`${batchId} 6`]);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.combine).toMatchObject({
      file: 'combine.py',
      cells: [3],
      outcome: { state: 'completed', exitCode: 0 },
    });
    // The replicas' script leaves the combine cell out; the combine script has imports and parameters.
    expect(readFileSync(join(folder, 'script.py'), 'utf8')).not.toContain('combine-runs.txt');
    expect(readFileSync(join(folder, 'combine.py'), 'utf8')).toContain('combine-runs.txt');
    const status = JSON.parse(readFileSync(join(folder, 'status/combine.json'), 'utf8'));
    expect(status).toMatchObject({ replica: 'combine', state: 'finished', exitCode: 0 });
    expect(readFileSync(join(folder, 'logs/combine.log'), 'utf8')).toContain(
      `==== canfar: combine of batch ${batchId}`,
    );
    const list = await suite.cli(['batches', batchId, join(dir, 'pipeline.ipynb')]);
    expect(list.stdout).toMatch(
      /^combine: completed \(run by replica \d\), exit 0; log logs\/combine\.log$/m,
    );
  });

  test('20 seeded repetitions with replicas finishing at the same moment: exactly one combine each', async () => {
    const random = seededRandom(13);
    const contended: number[] = [];
    for (let rep = 1; rep <= 20; rep++) {
      const dir = folderWith(`rep-${rep}`);
      // Wake-up ~2.5 s from now, each replica within 0..jitter ms of it.
      const jitter = Math.floor(random() * 20);
      const deadline = (Date.now() + 2500) / 1000;
      const run = await suite.follow([
        'submit',
        join(dir, 'pipeline.ipynb'),
        '-r',
        '6',
        '--param',
        `deadline=${deadline}`,
        '--param',
        `jitter_ms=${jitter}`,
        '--param',
        `seed=${rep}`,
      ]);
      expect(run.code === 0 ? 0 : `repetition ${rep}: exit ${run.code}: ${run.stderr}`).toBe(0);
      const { batchId, folder } = onlyBatch(dir);
      expect({ rep, runs: combineRuns(dir) }).toEqual({ rep, runs: [`${batchId} 6`] });
      expect(JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'))).toEqual(
        Array.from({ length: ITEMS }, (_, i) => i),
      );
      // Replicas that found every status final and raced for the lock (one won, the others stood aside).
      const logs = [1, 2, 3, 4, 5, 6].map((i) => readFileSync(join(folder, `logs/replica-${i}.log`), 'utf8'));
      const winners = logs.filter((log) => log.includes('runs the combine (logs/combine.log)')).length;
      const contenders =
        winners + logs.filter((log) => log.includes('another replica runs the combine')).length;
      expect({ rep, winners }).toEqual({ rep, winners: 1 });
      contended.push(contenders);
    }
    // Figures: how many replicas raced for the lock in each repetition.
    console.log(
      `combine race: 20 repetitions, contenders per repetition ${contended.join(' ')}; 20 combines`,
    );
    expect(contended.filter((k) => k >= 2).length).toBeGreaterThanOrEqual(5);
  });

  test('a combine that fails: --follow exits 1 naming it, every replica still completed', async () => {
    const dir = join(suite.work, 'combine-fails');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'nb.ipynb'),
      pythonNotebook([
        { source: 'print("suite.work")\n' },
        { source: 'raise ValueError("nothing to merge")\n', tags: ['combine'] },
      ]),
    );
    const run = await suite.follow(['submit', join(dir, 'nb.ipynb'), '-r', '2']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /combine failed with exit code 1 \(log logs\/combine\.log\): .*logs\/combine\.log/,
    );
    const { folder } = onlyBatch(dir);
    expect(readFileSync(join(folder, 'logs/combine.log'), 'utf8')).toContain('ValueError: nothing to merge');
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.combine?.outcome).toMatchObject({ state: 'failed', exitCode: 1 });
    const view = JSON.parse((await suite.cli(['--json', 'batches', manifest.batchId, dir])).stdout);
    expect(view.counts).toMatchObject({ completed: 2, failed: 0 });

    // The user fixes the combine script of the batch folder and runs only the combine again: one session
    // of its own, the replicas untouched, the log appended.
    const combinePy = join(folder, 'combine.py');
    writeFileSync(
      combinePy,
      readFileSync(combinePy, 'utf8').replace(
        'raise ValueError("nothing to merge")',
        'print("merged at last")',
      ),
    );
    const again = await suite.follow(['batch', 'rerun-combine', manifest.batchId, '--dir', dir]);
    expectExit(again, 0);
    expect(again.stdout).toMatch(
      new RegExp(
        `batch ${manifest.batchId}: the combine runs again \\(attempt 2\\) in session \\S+ \\(.*-combine\\)`,
      ),
    );
    expect(again.stdout).toMatch(
      /combine completed \(run by session \S+ \(re-run\); log logs\/combine\.log\)/,
    );
    const log = readFileSync(join(folder, 'logs/combine.log'), 'utf8');
    expect(log).toContain('ValueError: nothing to merge');
    expect(log).toMatch(/==== canfar: combine of batch \S+ \(attempt 2\), re-run in session \S+/);
    expect(log).toContain('merged at last');
    expect(JSON.parse(readFileSync(join(folder, 'status/combine.json'), 'utf8'))).toMatchObject({
      runBy: 'session',
      attempt: 2,
      state: 'finished',
      exitCode: 0,
    });
    const after = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(after.combine?.outcome).toMatchObject({ state: 'completed', exitCode: 0 });
    expect(after.combine?.rerun).toMatchObject({ count: 1, attempt: 2 });
    // The replicas ran once each: one attempt header per replica log.
    for (const i of [1, 2])
      expect(
        readFileSync(join(folder, `logs/replica-${i}.log`), 'utf8').match(/==== canfar: attempt/g),
      ).toHaveLength(1);

    // Nothing left to re-run: refused, saying why, and nothing launched.
    const twice = await suite.cli(['batch', 'rerun-combine', manifest.batchId, '--dir', dir]);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(
      `canfar-lab batch rerun-combine: the combine of batch ${manifest.batchId} already completed with exit 0`,
    );
    expect(
      readFileSync(join(folder, 'logs/combine.log'), 'utf8').match(/==== canfar: combine/g),
    ).toHaveLength(2);
  });

  test('a failing replica: no combine; after batch rerun-failed (same folder) completes it, the combine runs once', async () => {
    const dir = folderWith('failing');
    const run = await suite.follow([
      'submit',
      join(dir, 'pipeline.ipynb'),
      '-r',
      '4',
      '--param',
      'fail_replica=3',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /replica 3 \(.*\) failed with exit code 1 in cell 3: RuntimeError: replica 3 fails/,
    );
    expect(run.stderr).toMatch(
      /The combine step did not run: not run: 1 replica\(s\) did not complete \(3 failed\)/,
    );
    expect(combineRuns(dir)).toEqual([]);
    expect(existsSync(join(dir, 'final.json'))).toBe(false);
    const { batchId, folder } = onlyBatch(dir);
    // Re-running the combine alone cannot help while a replica failed: refused, with what to do.
    const early = await suite.cli(['batch', 'rerun-combine', batchId, '--dir', dir]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(
      `1 of 4 replica(s) of batch ${batchId} have not completed (3 failed): the combine runs once they all have. Re-run the failed ones first (batch rerun-failed ${batchId})`,
    );
    expect(existsSync(join(folder, 'combine-rerun-1.claim'))).toBe(false);

    writeFileSync(join(dir, 'fixed'), '');
    const rerun = await suite.follow(['batch', 'rerun-failed', batchId, '--dir', dir]);
    expectExit(rerun, 0);
    expect(rerun.stdout).toContain(
      `batch ${batchId}: replica(s) 3 launched again in the same folder: 1/1 launched`,
    );
    // Same folder, same batch: attempt 2 of replica 3, appended to its log; the combine ran once.
    expect(onlyBatch(dir).batchId).toBe(batchId);
    expect(combineRuns(dir)).toEqual([`${batchId} 4`]);
    expect(JSON.parse(readFileSync(join(dir, 'final.json'), 'utf8'))).toEqual(
      Array.from({ length: ITEMS }, (_, i) => i),
    );
    expect(JSON.parse(readFileSync(join(folder, 'status/replica-3.json'), 'utf8'))).toMatchObject({
      attempt: 2,
      state: 'finished',
      exitCode: 0,
    });
    const log = readFileSync(join(folder, 'logs/replica-3.log'), 'utf8');
    expect(log.match(/==== canfar: attempt \d of replica 3 /g)).toEqual([
      '==== canfar: attempt 1 of replica 3 ',
      '==== canfar: attempt 2 of replica 3 ',
    ]);
    expect(log).toContain('RuntimeError: replica 3 fails');
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    const three = manifest.replicas[2];
    expect(three.history).toHaveLength(1);
    expect(three.history![0].launch?.state).toBe('launched');
    expect(three.launch?.state === 'launched' && three.launch.sessionId).not.toBe(
      three.history![0].launch?.state === 'launched' && three.history![0].launch.sessionId,
    );
    const view = JSON.parse((await suite.cli(['--json', 'batches', batchId, dir])).stdout);
    expect(view.combine).toMatchObject({ state: 'completed' });
    expect(view.replicas[2]).toMatchObject({ state: 'completed', attempt: 2 });
  });

  test('--canary with a notebook that fails: one session launched in total, the failure named', async () => {
    const dir = folderWith('canary-fails');
    const before = (await suite.server.api.list('?type=headless')).length;
    const run = await suite.follow([
      'submit',
      join(dir, 'pipeline.ipynb'),
      '-r',
      '4',
      '--canary',
      '--param',
      'fail_replica=1',
      '--name',
      'canfail',
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('canfail');
    expect(run.stderr).toMatch(
      /The canary failed, so nothing else was launched: the canary, replica 1, failed with exit code 1 in cell 3: RuntimeError: replica 1 fails/,
    );
    const sessions = (await suite.server.api.list('?type=headless')).filter((s) =>
      s.name.startsWith('canfail'),
    );
    expect(sessions.map((s) => s.name)).toEqual(['canfail-1']);
    expect((await suite.server.api.list('?type=headless')).length).toBe(before + 1);
    const { folder } = onlyBatch(dir);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.canary).toMatchObject({ replica: 1, state: 'failed' });
    expect(manifest.replicas.slice(1).map((r) => r.launch?.state)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
    ]);
    expect(existsSync(join(folder, 'status/replica-2.json'))).toBe(false);
  });

  test('--canary with a notebook that works: the other replicas are launched only after the first completed', async () => {
    const dir = folderWith('canary-works');
    const run = await suite.follow(['submit', join(dir, 'pipeline.ipynb'), '-r', '4', '--canary']);
    expectExit(run, 0);
    expect(run.stdout).toMatch(
      /canary: replica 1 runs alone; the other 3 are launched once it completed with exit 0/,
    );
    expect(run.stdout).toMatch(/canary completed: launched 3 more replica\(s\)/);
    const { folder } = onlyBatch(dir);
    const manifest = JSON.parse(readFileSync(join(folder, 'batch.json'), 'utf8')) as BatchManifest;
    expect(manifest.canary).toMatchObject({ state: 'passed' });
    const firstEnd = Date.parse(JSON.parse(readFileSync(join(folder, 'status/replica-1.json'), 'utf8')).end);
    for (const record of manifest.replicas.slice(1)) {
      expect(record.launch?.state).toBe('launched');
      // Launched (millisecond time) no earlier than the canary's end (whole seconds).
      expect(Date.parse(record.launch!.at)).toBeGreaterThanOrEqual(firstEnd);
    }
    expect(combineRuns(dir)).toHaveLength(1);
  });

  test('--canary without --follow: the command waits for the canary, launches the rest, and returns', async () => {
    const dir = folderWith('canary-nofollow');
    const run = await suite.cli([
      'submit',
      join(dir, 'pipeline.ipynb'),
      '-r',
      '3',
      '--canary',
      '--name',
      'cannf',
      '--interval',
      '0.2',
    ]);
    expectExit(run, 0);
    expect(run.stdout).toMatch(/canary replica 1 launched; the other 2 wait for it to complete/);
    expect(run.stdout).toMatch(/batch \S+: launched \(/);
    const names = (await suite.server.api.list('?type=headless'))
      .map((s) => s.name)
      .filter((n) => n.startsWith('cannf'));
    expect(names.sort()).toEqual(['cannf-1', 'cannf-2', 'cannf-3']);
  });

  test('--expect with a replica that writes nothing: "output missing", counted as failed, no combine', async () => {
    const dir = folderWith('expect');
    const run = await suite.follow([
      'submit',
      join(dir, 'pipeline.ipynb'),
      '-r',
      '3',
      '--param',
      'skip_replica=2',
      '--expect',
      'parts/part-{replica}.json',
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/replica 2 \(.*\) completed, output missing: parts\/part-2\.json/);
    expect(combineRuns(dir)).toEqual([]);
    const { batchId } = onlyBatch(dir);
    const view = JSON.parse((await suite.cli(['--json', 'batches', batchId, dir])).stdout);
    expect(view.replicas.map((r: { state: string }) => r.state)).toEqual([
      'completed',
      'output-missing',
      'completed',
    ]);
    expect(view.replicas[1]).toMatchObject({ exitCode: 0, outputsMissing: ['parts/part-2.json'] });
    expect(view.counts).toMatchObject({ failed: 1, outputMissing: 1 });
    expect(view.combine).toMatchObject({ state: 'skipped' });
  });
});
