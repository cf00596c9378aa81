// run.sh as a replica that may run more than once, and the combine step it starts without a watcher:
// real processes under dash (the sh of Debian images), a real batch folder, Python scripts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { BATCHES_FOLDER } from './paths';
import { CANFAR_BATCH_PY, pythonShimFiles, wrapperScript } from './wrapper';
import type { WrapperOptions } from './wrapper';

jest.setTimeout(60_000);

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'canfar-attempts-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
/** A batch folder with run.sh, the Python helpers, `script.py` and maybe `combine.py`. */
function batch(script: string, options: Partial<WrapperOptions> & { combineScript?: string } = {}) {
  const notebookDir = join(root, `case-${++count}`);
  const folder = join(notebookDir, BATCHES_FOLDER, 'b1');
  mkdirSync(folder, { recursive: true });
  const { combineScript, ...rest } = options;
  writeFileSync(
    join(folder, 'run.sh'),
    wrapperScript({
      batchId: 'b1',
      script: 'script.py',
      interpreter: { command: 'python3', args: ['-u'] },
      python: true,
      ...(combineScript !== undefined ? { combine: 'combine.py' } : {}),
      ...rest,
    }),
  );
  for (const file of pythonShimFiles()) {
    mkdirSync(dirname(join(folder, file.path)), { recursive: true });
    writeFileSync(join(folder, file.path), file.content);
  }
  writeFileSync(join(folder, 'script.py'), script);
  if (combineScript !== undefined) writeFileSync(join(folder, 'combine.py'), combineScript);
  return { folder, notebookDir };
}

const baseEnv = (extra: Record<string, string>) => ({
  PATH: process.env.PATH,
  CANFAR_BATCH_ID: 'b1',
  skaha_sessionid: 'k3x9q2ma',
  ...extra,
});

function runSync(folder: string, extra: Record<string, string>) {
  return spawnSync('dash', [join(folder, 'run.sh')], { env: baseEnv(extra), encoding: 'utf8' });
}

function runAsync(folder: string, extra: Record<string, string>) {
  const child = spawn('dash', [join(folder, 'run.sh')], { env: baseEnv(extra) });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  child.stderr.on('data', (chunk) => (out += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exit, output: () => out };
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

async function until(what: string, probe: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a replica run twice: attempt 2 appends to the log under its marker, the status says attempt 2', () => {
  const { folder } = batch('import os\nprint("run", os.environ.get("MARK"))\n');
  expect(runSync(folder, { REPLICA_ID: '1', MARK: 'first' }).status).toBe(0);
  expect(runSync(folder, { REPLICA_ID: '1', MARK: 'second' }).status).toBe(0);
  const log = readFileSync(join(folder, 'logs/replica-1.log'), 'utf8');
  const markers = log.split('\n').filter((line) => line.startsWith('==== canfar: attempt'));
  expect(markers).toHaveLength(2);
  expect(markers[0]).toMatch(
    /^==== canfar: attempt 1 of replica 1 on \S+, started \d{4}-\d\d-\d\dT[\d:]+Z ====$/,
  );
  expect(markers[1]).toMatch(/^==== canfar: attempt 2 of replica 1 on /);
  // Nothing of the first attempt is lost, and each attempt's output follows its marker.
  expect(log.indexOf('run first')).toBeGreaterThan(log.indexOf(markers[0]));
  expect(log.indexOf('run second')).toBeGreaterThan(log.indexOf(markers[1]));
  expect(json(join(folder, 'status/replica-1.json'))).toMatchObject({
    schema: 2,
    replica: 1,
    attempt: 2,
    state: 'finished',
    exitCode: 0,
  });
});

test('preempted (TERM) then run again: interrupted, then the second attempt is the final outcome', async () => {
  const { folder } = batch(
    'import os, time\nprint("attempt starts", flush=True)\nif not os.path.exists("done-once"):\n    open("done-once", "w").close()\n    time.sleep(30)\nprint("finished")\n',
  );
  const first = runAsync(folder, { REPLICA_ID: '2', REPLICA_COUNT: '2' });
  await until('the script to start', () => first.output().includes('attempt starts'));
  first.child.kill('SIGTERM');
  expect(await first.exit).toBe(143);
  expect(json(join(folder, 'status/replica-2.json'))).toMatchObject({
    attempt: 1,
    state: 'interrupted',
    signal: 'TERM',
  });
  expect(runSync(folder, { REPLICA_ID: '2', REPLICA_COUNT: '2' }).status).toBe(0);
  const status = json(join(folder, 'status/replica-2.json'));
  expect(status).toMatchObject({ attempt: 2, state: 'finished', exitCode: 0 });
  expect(status.signal).toBeUndefined();
  const log = readFileSync(join(folder, 'logs/replica-2.log'), 'utf8');
  expect(log.match(/attempt starts/g)).toHaveLength(2);
  expect(log).toContain('replica 2 (attempt 1) stopped by SIGTERM');
  expect(log).toContain('==== canfar: attempt 2 of replica 2');
});

test('a sweep replica names its files by CANFAR_BATCH_REPLICA_ID and sees CANFAR_BATCH_DIR', () => {
  const { folder } = batch(
    'import os\nprint("ids", os.environ["REPLICA_ID"], os.environ["CANFAR_BATCH_REPLICA_ID"], os.environ["CANFAR_BATCH_DIR"])\n',
  );
  const result = runSync(folder, {
    REPLICA_ID: '2',
    REPLICA_COUNT: '2',
    CANFAR_BATCH_REPLICA_ID: '4',
    CANFAR_BATCH_REPLICA_COUNT: '6',
    CANFAR_SET_ID: '2',
  });
  expect(result.status).toBe(0);
  expect(readFileSync(join(folder, 'logs/replica-4.log'), 'utf8')).toContain(`ids 2 4 ${folder}`);
  expect(json(join(folder, 'status/replica-4.json'))).toMatchObject({ replica: 4, state: 'finished' });
  expect(existsSync(join(folder, 'status/replica-2.json'))).toBe(false);
});

test('expected outputs: a replica that exits 0 without one is recorded with outputsMissing', () => {
  const { folder, notebookDir } = batch(
    'import os\nif os.environ["REPLICA_ID"] == "1":\n    os.makedirs("results", exist_ok=True)\n    open("results/part-1.json", "w").write("{}")\n',
    { expect: ['results/part-{replica}.json', 'results/*.json'] },
  );
  expect(runSync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '2' }).status).toBe(0);
  expect(json(join(folder, 'status/replica-1.json')).outputsMissing).toBeUndefined();
  rmSync(join(notebookDir, 'results'), { recursive: true });
  const second = runSync(folder, { REPLICA_ID: '2', REPLICA_COUNT: '2' });
  expect(second.status).toBe(0);
  expect(json(join(folder, 'status/replica-2.json'))).toMatchObject({
    state: 'finished',
    exitCode: 0,
    outputsMissing: ['results/part-2.json', 'results/*.json'],
  });
  expect(second.stderr).toContain(
    'replica 2 exited 0 but its expected output results/part-2.json is missing',
  );
});

const COMBINE = `
import json, os
from canfar_batch import batch_dir, replicas
rows = replicas()
with open(os.path.join(batch_dir(), "..", "..", "combine-runs.txt"), "a") as out:
    out.write("%s %s %s\\n" % (os.environ.get("REPLICA_ID", "-"), os.environ.get("CANFAR_COMBINE"), [r["state"] for r in rows]))
print("combined", len(rows))
`;

/** A batch.json just good enough for canfar_batch.replicas(). */
function manifestFor(folder: string, n: number) {
  writeFileSync(
    join(folder, 'batch.json'),
    JSON.stringify({
      replicas: Array.from({ length: n }, (_, i) => ({ replica: i + 1, name: `x-${i + 1}` })),
    }),
  );
}

test('the combine runs once, in whichever replica finishes last, after all of them (concurrent finishers)', async () => {
  for (let round = 0; round < 5; round++) {
    const { folder, notebookDir } = batch('import time, os\ntime.sleep(float(os.environ["DELAY"]))\n', {
      combineScript: COMBINE,
    });
    manifestFor(folder, 4);
    // All four finish within a few milliseconds of each other.
    const runs = [1, 2, 3, 4].map((i) =>
      runAsync(folder, { REPLICA_ID: String(i), REPLICA_COUNT: '4', DELAY: String(0.3 + (i % 2) * 0.002) }),
    );
    expect(await Promise.all(runs.map((r) => r.exit))).toEqual([0, 0, 0, 0]);
    const lines = readFileSync(join(notebookDir, 'combine-runs.txt'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    // The combine sees neither a replica's identity nor anything but finished replicas.
    expect(lines[0]).toBe("- 1 ['completed', 'completed', 'completed', 'completed']");
    const combine = json(join(folder, 'status/combine.json'));
    expect(combine).toMatchObject({ replica: 'combine', state: 'finished', exitCode: 0, attempt: 1 });
    expect([1, 2, 3, 4]).toContain(combine.runBy);
    expect(readFileSync(join(folder, 'logs/combine.log'), 'utf8')).toContain('combined 4');
    expect(existsSync(join(folder, 'combine.lock'))).toBe(true);
  }
});

test('a failed replica: no combine; once it is run again and succeeds, the combine runs once', () => {
  const { folder, notebookDir } = batch(
    'import os, sys\nif os.environ["REPLICA_ID"] == "2" and not os.path.exists("fixed"):\n    sys.exit(3)\n',
    { combineScript: COMBINE },
  );
  manifestFor(folder, 3);
  expect([1, 2, 3].map((i) => runSync(folder, { REPLICA_ID: String(i), REPLICA_COUNT: '3' }).status)).toEqual(
    [0, 3, 0],
  );
  expect(existsSync(join(notebookDir, 'combine-runs.txt'))).toBe(false);
  expect(existsSync(join(folder, 'status/combine.json'))).toBe(false);
  writeFileSync(join(notebookDir, 'fixed'), '');
  expect(runSync(folder, { REPLICA_ID: '2', REPLICA_COUNT: '3' }).status).toBe(0);
  expect(json(join(folder, 'status/replica-2.json'))).toMatchObject({ attempt: 2, exitCode: 0 });
  expect(readFileSync(join(notebookDir, 'combine-runs.txt'), 'utf8').trim().split('\n')).toHaveLength(1);
  // Never twice: a replica that runs again later does not run it again.
  expect(runSync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '3' }).status).toBe(0);
  expect(readFileSync(join(notebookDir, 'combine-runs.txt'), 'utf8').trim().split('\n')).toHaveLength(1);
});

test('a combine stopped by TERM releases the lock: the replica next attempt runs it', async () => {
  const slow = `import os, time\nprint("combine starts", flush=True)\nif not os.path.exists(os.path.join(os.environ["CANFAR_BATCH_DIR"], "once")):\n    open(os.path.join(os.environ["CANFAR_BATCH_DIR"], "once"), "w").close()\n    time.sleep(30)\nprint("combine done")\n`;
  const { folder } = batch('print("work")\n', { combineScript: slow });
  const run = runAsync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '1' });
  await until('the combine to start', () => run.output().includes('combine starts'));
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(143);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'interrupted',
    signal: 'TERM',
    runBy: 1,
  });
  expect(existsSync(join(folder, 'combine.lock'))).toBe(false);
  // The replica's own outcome stays final; its next attempt runs the combine again.
  expect(json(join(folder, 'status/replica-1.json'))).toMatchObject({ state: 'finished', exitCode: 0 });
  expect(runSync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '1' }).status).toBe(0);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'finished',
    exitCode: 0,
    attempt: 2,
  });
  const log = readFileSync(join(folder, 'logs/combine.log'), 'utf8');
  expect(log.match(/==== canfar: combine of batch b1/g)).toHaveLength(2);
  expect(log).toContain('combine done');
});

test('CANFAR_COMBINE_RERUN: only the combine runs again, once per attempt, and never over a finished one', async () => {
  const failing = `import os\nif not os.path.exists("fixed"):\n    raise ValueError("bad merge")\nprint("merged", flush=True)\nopen("combine-runs.txt", "a").write("run\\n")\n`;
  const { folder, notebookDir } = batch('print("work")\n', { combineScript: failing });
  manifestFor(folder, 2);
  expect([1, 2].map((i) => runSync(folder, { REPLICA_ID: String(i), REPLICA_COUNT: '2' }).status)).toEqual([
    0, 0,
  ]);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'finished',
    exitCode: 1,
    attempt: 1,
  });
  const replicaStatus = readFileSync(join(folder, 'status/replica-1.json'), 'utf8');
  writeFileSync(join(notebookDir, 'fixed'), '');

  // Two sessions of attempt 2 start together (a duplicate launch): one runs it, the other does nothing.
  const runs = [1, 2].map(() => runAsync(folder, { CANFAR_COMBINE_RERUN: '2', skaha_sessionid: 'c0mb1ne' }));
  expect(await Promise.all(runs.map((r) => r.exit))).toEqual([0, 0]);
  expect(readFileSync(join(notebookDir, 'combine-runs.txt'), 'utf8')).toBe('run\n');
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'finished',
    exitCode: 0,
    attempt: 2,
    runBy: 'session',
    sessionId: 'c0mb1ne',
  });
  const log = readFileSync(join(folder, 'logs/combine.log'), 'utf8');
  expect(log).toContain('ValueError: bad merge');
  expect(log).toMatch(/==== canfar: combine of batch b1 \(attempt 2\), re-run in session c0mb1ne on /);
  // The replicas are not touched: no new attempt, no new status.
  expect(readFileSync(join(folder, 'status/replica-1.json'), 'utf8')).toBe(replicaStatus);
  expect(
    readFileSync(join(folder, 'logs/replica-1.log'), 'utf8').match(/==== canfar: attempt/g),
  ).toHaveLength(1);

  // A late session of attempt 2 (the platform ran it again) finds it finished: nothing to do.
  const late = runSync(folder, { CANFAR_COMBINE_RERUN: '2' });
  expect(late.status).toBe(0);
  expect(late.stderr).toContain('attempt 2 of the combine has already finished: nothing to do');
  expect(readFileSync(join(notebookDir, 'combine-runs.txt'), 'utf8')).toBe('run\n');
});

test('CANFAR_COMBINE_RERUN stopped by TERM: the lock of its attempt is released, the same session runs it again', async () => {
  const slow = `import os, time\nprint("combine starts", flush=True)\nmark = os.path.join(os.environ["CANFAR_BATCH_DIR"], "once")\nif not os.path.exists(mark):\n    open(mark, "w").close()\n    time.sleep(30)\nprint("combine done")\n`;
  const { folder } = batch('print("work")\n', { combineScript: slow });
  writeFileSync(join(folder, 'once'), '');
  writeFileSync(join(folder, 'combine.py'), slow.replace('print("combine done")', 'raise SystemExit(4)'));
  expect(runSync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '1' }).status).toBe(0);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({ exitCode: 4, attempt: 1 });
  rmSync(join(folder, 'once'));
  writeFileSync(join(folder, 'combine.py'), slow);
  const run = runAsync(folder, { CANFAR_COMBINE_RERUN: '2' });
  await until('the combine to start', () => run.output().includes('combine starts'));
  run.child.kill('SIGTERM');
  expect(await run.exit).toBe(143);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'interrupted',
    attempt: 2,
    runBy: 'session',
  });
  expect(existsSync(join(folder, 'combine-2.lock'))).toBe(false);
  // The replica's status stays as it was: a session that only runs the combine is not a replica.
  expect(json(join(folder, 'status/replica-1.json'))).toMatchObject({ state: 'finished', exitCode: 0 });
  expect(runSync(folder, { CANFAR_COMBINE_RERUN: '2' }).status).toBe(0);
  expect(json(join(folder, 'status/combine.json'))).toMatchObject({
    state: 'finished',
    exitCode: 0,
    attempt: 3,
  });
});

test('canfar_batch: replicas() reads batch.json and the status files; write_atomic replaces in one step', () => {
  const { folder } = batch(
    'from canfar_batch import write_atomic\nimport os\nwrite_atomic(os.path.join(os.environ["CANFAR_OUTPUT_DIR"], "out.txt"), "ünï\\n")\nwrite_atomic(os.path.join(os.environ["CANFAR_OUTPUT_DIR"], "out.bin"), b"\\x00\\x01")\n',
  );
  writeFileSync(
    join(folder, 'batch.json'),
    JSON.stringify({
      parameters: { overrides: { label: 'x' } },
      sweep: { parameters: ['t'], sets: [{ t: '0.1' }, { t: '0.5' }], shards: 1 },
      replicas: [
        { replica: 1, name: 'x-1', set: 1, shard: 1 },
        { replica: 2, name: 'x-2', set: 2, shard: 1 },
      ],
    }),
  );
  expect(runSync(folder, { REPLICA_ID: '1', REPLICA_COUNT: '1', CANFAR_BATCH_REPLICA_ID: '1' }).status).toBe(
    0,
  );
  expect(readFileSync(join(folder, 'outputs/replica-1/out.txt'), 'utf8')).toBe('ünï\n');
  expect([...readFileSync(join(folder, 'outputs/replica-1/out.bin'))]).toEqual([0, 1]);
  const rows = JSON.parse(
    spawnSync('python3', ['-c', 'import json, canfar_batch; print(json.dumps(canfar_batch.replicas()))'], {
      env: { PATH: process.env.PATH, PYTHONPATH: join(folder, 'pylib'), CANFAR_BATCH_DIR: folder },
      encoding: 'utf8',
    }).stdout,
  );
  expect(rows).toEqual([
    expect.objectContaining({
      replica: 1,
      set: 1,
      shard: 1,
      params: { label: 'x', t: '0.1' },
      state: 'completed',
      exit_code: 0,
      attempt: 1,
    }),
    expect.objectContaining({
      replica: 2,
      set: 2,
      params: { label: 'x', t: '0.5' },
      state: 'not-started',
      exit_code: null,
    }),
  ]);
  expect(rows[0].log).toBe(join(folder, 'logs/replica-1.log'));
  const outside = spawnSync('python3', ['-c', 'import canfar_batch; canfar_batch.batch_dir()'], {
    env: { PATH: process.env.PATH, PYTHONPATH: join(folder, 'pylib') },
    encoding: 'utf8',
  });
  expect(outside.stderr).toContain('not inside a batch (CANFAR_BATCH_DIR is not set)');
});

test('an installed canfar package (later on sys.path than pylib) still wins over the fallback', () => {
  const { folder } = batch('');
  const site = join(root, 'site');
  mkdirSync(join(site, 'canfar/helpers'), { recursive: true });
  writeFileSync(join(site, 'canfar/__init__.py'), 'REAL = True\n');
  writeFileSync(join(site, 'canfar/helpers/__init__.py'), '');
  writeFileSync(join(site, 'canfar/helpers/distributed.py'), 'def chunk(items):\n    return ["real"]\n');
  const result = spawnSync(
    'python3',
    [
      '-c',
      'import canfar; from canfar.helpers import distributed; print(canfar.REAL, distributed.chunk([1]))',
    ],
    { env: { PATH: process.env.PATH, PYTHONPATH: `${join(folder, 'pylib')}:${site}` }, encoding: 'utf8' },
  );
  expect(result.stderr).toBe('');
  expect(result.stdout.trim()).toBe("True ['real']");
});

test('the wheel ships the same canfar_batch as every batch folder (python/canfar_batch/__init__.py)', () => {
  const shipped = readFileSync(join(__dirname, '../../python/canfar_batch/__init__.py'), 'utf8');
  expect(shipped).toBe(CANFAR_BATCH_PY);
});
