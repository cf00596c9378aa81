// run.sh under dash and under the system sh, with real processes; and the Python fallback of
// canfar.helpers.distributed against the TypeScript implementation of the official semantics.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { chunk, stripe } from '../distributed';
import { BATCHES_FOLDER } from './paths';
import { pythonShimFiles, shellQuote, wrapperScript } from './wrapper';

// sh is dash on Debian; bash in POSIX mode is what some images have as sh.
const SHELLS = ['dash', 'sh', 'bash --posix'];
let root: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'canfar-runsh-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A batch folder `<root>/<name>/nb/canfar-batches/b1` holding run.sh, the shim and `script`. */
function batchFolder(name: string, script: string): { folder: string; notebookDir: string } {
  const notebookDir = join(root, name, 'nb');
  const folder = join(notebookDir, BATCHES_FOLDER, 'b1');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'run.sh'),
    wrapperScript({
      batchId: 'b1',
      script: 'script.py',
      interpreter: { command: 'python3', args: ['-u'] },
      python: true,
    }),
  );
  for (const file of pythonShimFiles()) {
    mkdirSync(dirname(join(folder, file.path)), { recursive: true });
    writeFileSync(join(folder, file.path), file.content);
  }
  writeFileSync(join(folder, 'script.py'), script);
  return { folder, notebookDir };
}

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH,
  CANFAR_BATCH_ID: 'b1',
  skaha_sessionid: 'k3x9q2ma',
  REPLICA_COUNT: '3',
  ...extra,
});

const SCRIPT = `
import os, sys
from canfar.helpers import distributed
import canfar
print("share", list(distributed.chunk(range(10))), "from", canfar.__file__)
print("cwd", os.getcwd())
print("out", os.environ["CANFAR_OUTPUT_DIR"])
print("to stderr", file=sys.stderr)
if os.environ.get("EXIT"):
    sys.exit(int(os.environ["EXIT"]))
if os.environ.get("SLEEP"):
    print("sleeping", flush=True)
    import time
    time.sleep(60)
`;

describe.each(SHELLS)('run.sh under %s', (command) => {
  const [shell, ...flags] = command.split(' ');
  const name = command.replace(/\W+/g, '-');
  test('runs the script in the notebook folder, tees its output, records success', () => {
    const { folder, notebookDir } = batchFolder(`${name}-ok`, SCRIPT);
    const result = spawnSync(shell, [...flags, join(folder, 'run.sh')], {
      env: env({ REPLICA_ID: '2' }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    // The container log (stdout) and the replica's own log get the same output, stderr included.
    expect(result.stdout).toContain('share [3, 4, 5] from');
    expect(result.stdout).toContain('to stderr');
    const log = readFileSync(join(folder, 'logs/replica-2.log'), 'utf8');
    expect(log).toContain('share [3, 4, 5] from');
    expect(log).toContain('to stderr');
    expect(log).toContain(`cwd ${notebookDir}`);
    expect(log).toContain(`out ${join(folder, 'outputs/replica-2')}`);
    // No canfar package here: the batch's fallback is used.
    expect(log).toContain(join(folder, 'pylib/canfar/__init__.py'));
    const status = JSON.parse(readFileSync(join(folder, 'status/replica-2.json'), 'utf8'));
    expect(status).toMatchObject({
      batchId: 'b1',
      replica: 2,
      state: 'finished',
      exitCode: 0,
      sessionId: 'k3x9q2ma',
    });
    expect(status.host).toBeTruthy();
    expect(Date.parse(status.end)).toBeGreaterThanOrEqual(Date.parse(status.start));
  });

  test("exits with the script's code and records it", () => {
    const { folder } = batchFolder(`${name}-fail`, SCRIPT);
    const result = spawnSync(shell, [...flags, join(folder, 'run.sh')], {
      env: env({ REPLICA_ID: '3', EXIT: '7' }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(7);
    expect(JSON.parse(readFileSync(join(folder, 'status/replica-3.json'), 'utf8'))).toMatchObject({
      replica: 3,
      exitCode: 7,
      state: 'finished',
    });
  });

  test('TERM stops the script and records the attempt as interrupted (exit 143)', async () => {
    const { folder } = batchFolder(`${name}-term`, SCRIPT);
    const child = spawn(shell, [...flags, join(folder, 'run.sh')], {
      env: env({ REPLICA_ID: '1', SLEEP: '1' }),
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    await new Promise<void>((resolve) => {
      const check = () => (out.includes('sleeping') ? resolve() : setTimeout(check, 20));
      check();
    });
    const running = JSON.parse(readFileSync(join(folder, 'status/replica-1.json'), 'utf8'));
    expect(running.state).toBe('running');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(143);
    const status = JSON.parse(readFileSync(join(folder, 'status/replica-1.json'), 'utf8'));
    // Not a final outcome: on CANFAR a preempted replica runs again.
    expect(status).toMatchObject({ state: 'interrupted', attempt: 1, exitCode: 143, signal: 'TERM' });
    expect(readFileSync(join(folder, 'logs/replica-1.log'), 'utf8')).toContain(
      'replica 1 (attempt 1) stopped by SIGTERM',
    );
    // The script itself was stopped too: no python process of this folder remains.
    const ps = spawnSync('pgrep', ['-f', join(folder, 'script.py')], { encoding: 'utf8' });
    expect(ps.stdout.trim()).toBe('');
  });

  test('an installed canfar package wins over the fallback', () => {
    const { folder } = batchFolder(`${name}-real`, SCRIPT);
    const site = join(root, `${name}-site`);
    mkdirSync(join(site, 'canfar/helpers'), { recursive: true });
    writeFileSync(join(site, 'canfar/__init__.py'), '');
    writeFileSync(join(site, 'canfar/helpers/__init__.py'), '');
    writeFileSync(join(site, 'canfar/helpers/distributed.py'), 'def chunk(items):\n    return ["real"]\n');
    const result = spawnSync(shell, [...flags, join(folder, 'run.sh')], {
      env: env({ REPLICA_ID: '1', PYTHONPATH: site }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`share ['real'] from ${join(site, 'canfar/__init__.py')}`);
  });

  test('refuses a REPLICA_ID that is not a positive integer', () => {
    const { folder } = batchFolder(`${name}-badid`, SCRIPT);
    const result = spawnSync(shell, [...flags, join(folder, 'run.sh')], {
      env: env({ REPLICA_ID: '1; rm -rf /' }),
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('REPLICA_ID must be a positive integer');
  });
});

// A tslab notebook's script runs with `node --experimental-strip-types`, which needs Node.js >= 22.6. Fake
// node/deno executables stand in for the image's, on a PATH that holds nothing else but the tools run.sh
// uses, so these tests depend neither on this machine's node version nor on whether deno is installed.
describe.each(SHELLS)('run.sh of a TypeScript script under %s', (command) => {
  const [shell, ...flags] = command.split(' ');
  const name = `ts-${command.replace(/\W+/g, '-')}`;
  const which = (tool: string) =>
    spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  // The shell itself is looked up on this PATH, not on the replica's.
  const shellPath = which(shell);
  const TOOLS = [
    'dirname',
    'mkdir',
    'hostname',
    'uname',
    'date',
    'tr',
    'sed',
    'mv',
    'rm',
    'mkfifo',
    'tee',
    'cat',
  ];

  /** A bin folder with the tools run.sh needs and the given fake executables (sh scripts). */
  function bin(dir: string, fakes: Record<string, string>): string {
    mkdirSync(dir, { recursive: true });
    for (const tool of TOOLS) {
      const found = which(tool);
      if (found) symlinkSync(found, join(dir, tool));
    }
    for (const [file, body] of Object.entries(fakes)) {
      writeFileSync(join(dir, file), `#!/bin/sh\n${body}`);
      chmodSync(join(dir, file), 0o755);
    }
    return dir;
  }

  // Node 20: `node --experimental-strip-types ...` stops with "bad option" and status 9.
  const OLD_NODE = `case "$1" in
  --version) echo v20.11.1 ;;
  --experimental-strip-types) echo "node: bad option: --experimental-strip-types" >&2; exit 9 ;;
  *) echo "old node ran $*" ;;
esac
`;
  const NEW_NODE = `case "$1" in
  --version) echo v22.12.0 ;;
  *) printf '%s\n' "$@" >"$(dirname "$0")/node.argv"; [ "$2" = -e ] || echo "new node ran the script" ;;
esac
`;
  const DENO = `printf '%s\n' "$@" >"$(dirname "$0")/deno.argv"; echo "deno ran: $(cat "$3")"
`;

  function tsBatch(label: string): string {
    const folder = join(root, `${name}-${label}`, 'nb', BATCHES_FOLDER, 'b1');
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'run.sh'),
      wrapperScript({
        batchId: 'b1',
        script: 'script.mts',
        interpreter: { command: 'node', args: ['--experimental-strip-types'] },
        python: false,
      }),
    );
    writeFileSync(join(folder, 'script.mts'), 'const x: number = 1; console.log(x);\n');
    return folder;
  }
  const run = (folder: string, path: string) =>
    spawnSync(shellPath, [...flags, join(folder, 'run.sh')], {
      env: { PATH: path, CANFAR_BATCH_ID: 'b1', REPLICA_ID: '2', REPLICA_COUNT: '2' },
      encoding: 'utf8',
    });
  const statusOf = (folder: string) =>
    JSON.parse(readFileSync(join(folder, 'status/replica-2.json'), 'utf8'));

  test('node older than 22.6: the script runs with deno run -A when deno is on PATH', () => {
    const folder = tsBatch('deno');
    const path = bin(join(root, `${name}-deno-bin`), { node: OLD_NODE, deno: DENO });
    const result = run(folder, path);
    expect(result.status).toBe(0);
    expect(readFileSync(join(path, 'deno.argv'), 'utf8')).toBe(`run\n-A\n${join(folder, 'script.mts')}\n`);
    expect(result.stdout).toContain('deno ran: const x: number = 1;');
    expect(result.stderr).toContain('node v20.11.1 cannot strip TypeScript types (Node.js >= 22.6 needed)');
    const log = readFileSync(join(folder, 'logs/replica-2.log'), 'utf8');
    expect(log).toContain('running the script with deno run -A instead');
    expect(log).toContain('deno ran: const x: number = 1;');
    expect(log).not.toContain('bad option');
    expect(statusOf(folder)).toMatchObject({ replica: 2, state: 'finished', exitCode: 0 });
  });

  test('node older than 22.6 and no deno: exit 127, saying what the image needs and which node it has', () => {
    const folder = tsBatch('none');
    const result = run(folder, bin(join(root, `${name}-none-bin`), { node: OLD_NODE }));
    expect(result.status).toBe(127);
    const expected =
      'needs Node.js >= 22.6 (node --experimental-strip-types) or Deno in the image, found node v20.11.1; use an image with Node.js 22.6 or later or with deno on PATH';
    expect(result.stderr).toContain(expected);
    expect(readFileSync(join(folder, 'logs/replica-2.log'), 'utf8')).toContain(expected);
    expect(result.stdout + result.stderr).not.toContain('old node ran');
    expect(statusOf(folder)).toMatchObject({ replica: 2, state: 'finished', exitCode: 127 });
  });

  test('no node at all and no deno: the same message, naming the missing node', () => {
    const folder = tsBatch('nonode');
    const result = run(folder, bin(join(root, `${name}-nonode-bin`), {}));
    expect(result.status).toBe(127);
    expect(result.stderr).toContain('or Deno in the image, found no working node on PATH;');
    expect(statusOf(folder)).toMatchObject({ state: 'finished', exitCode: 127 });
  });

  test('node 22.6 or later: node runs the script, even with deno on PATH', () => {
    const folder = tsBatch('node');
    const path = bin(join(root, `${name}-node-bin`), { node: NEW_NODE, deno: DENO });
    const result = run(folder, path);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('new node ran the script');
    expect(result.stderr).toBe('');
    expect(readFileSync(join(path, 'node.argv'), 'utf8')).toBe(
      `--experimental-strip-types\n${join(folder, 'script.mts')}\n`,
    );
    expect(spawnSync('test', ['-e', join(path, 'deno.argv')]).status).not.toBe(0);
    expect(statusOf(folder)).toMatchObject({ state: 'finished', exitCode: 0 });
  });
});

// A Python notebook that needs IPython (its own magics, %load_ext...): run.sh checks the image has it before
// the script starts. A fake python3 stands in for the image's, with or without IPython.
describe('run.sh of a Python script that needs IPython', () => {
  const fakePython = (hasIPython: boolean) => `case "$1" in
  -c) case "$2" in *IPython*) exit ${hasIPython ? 0 : 1} ;; *) exit 1 ;; esac ;;
  *) echo "python ran $*" ;;
esac
`;
  function ipythonBatch(label: string, hasIPython: boolean) {
    const dir = join(root, `ipython-${label}`);
    const folder = join(dir, 'nb', BATCHES_FOLDER, 'b1');
    const bin = join(dir, 'bin');
    mkdirSync(folder, { recursive: true });
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'python3'), `#!/bin/sh\n${fakePython(hasIPython)}`);
    chmodSync(join(bin, 'python3'), 0o755);
    writeFileSync(
      join(folder, 'run.sh'),
      wrapperScript({
        batchId: 'b1',
        script: 'script.py',
        interpreter: { command: 'python3', args: ['-u'] },
        python: true,
        needsIPython: { cells: [3, 8] },
      }),
    );
    writeFileSync(join(folder, 'script.py'), 'print(1)\n');
    const result = spawnSync('dash', [join(folder, 'run.sh')], {
      env: { PATH: `${bin}:${process.env.PATH}`, CANFAR_BATCH_ID: 'b1', REPLICA_ID: '1', REPLICA_COUNT: '1' },
      encoding: 'utf8',
    });
    return { folder, result };
  }

  test('without IPython: exit 127 before the script runs, naming the cells and what to do', () => {
    const { folder, result } = ipythonBatch('missing', false);
    expect(result.status).toBe(127);
    const expected =
      'run.sh: this notebook needs IPython in the image (cells 4, 9 use magics that only IPython runs), but python3 cannot import IPython; use an image with ipython installed, or remove those magics from the notebook';
    expect(result.stderr).toContain(expected);
    expect(result.stdout).not.toContain('python ran');
    expect(readFileSync(join(folder, 'logs/replica-1.log'), 'utf8')).toContain(expected);
    expect(JSON.parse(readFileSync(join(folder, 'status/replica-1.json'), 'utf8'))).toMatchObject({
      state: 'finished',
      exitCode: 127,
    });
  });

  test('with IPython: the script runs', () => {
    const { result } = ipythonBatch('present', true);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('python ran -u');
    expect(result.stderr).toBe('');
  });
});

test('shellQuote survives the shell', () => {
  for (const word of ["it's", 'a b', '$HOME', '`x`', 'plain-1.0']) {
    expect(execFileSync('dash', ['-c', `printf %s ${shellQuote(word)}`], { encoding: 'utf8' })).toBe(word);
  }
});

test('the Python fallback of canfar.helpers.distributed matches the official semantics item for item', () => {
  const dir = join(root, 'shim');
  for (const file of pythonShimFiles()) {
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.content);
  }
  const cases: [number, number, number][] = [];
  for (const count of [0, 1, 3, 10, 19, 37])
    for (const total of [1, 2, 3, 5, 10])
      for (let replica = 0; replica <= total + 1; replica++) cases.push([count, replica, total]);
  cases.push([5, 1, 0], [5, 1, -2]);
  const program = `
import json, sys
from canfar.helpers import distributed
out = []
for count, replica, total in json.loads(sys.argv[1]):
    row = {}
    for name in ("chunk", "stripe"):
        try:
            row[name] = list(getattr(distributed, name)(range(count), replica, total))
        except ValueError as error:
            row[name] = "error: " + str(error)
    out.append(row)
print(json.dumps(out))
`;
  const python = JSON.parse(
    execFileSync('python3', ['-c', program, JSON.stringify(cases)], {
      env: { ...process.env, PYTHONPATH: join(dir, 'pylib') },
      encoding: 'utf8',
    }),
  );
  const ts = (
    fn: (items: number[], replica: number, total: number) => Iterable<number>,
    items: number[],
    replica: number,
    total: number,
  ) => {
    try {
      return [...fn(items, replica, total)];
    } catch (error) {
      return `error: ${(error as Error).message}`;
    }
  };
  cases.forEach(([count, replica, total], i) => {
    const items = Array.from({ length: count }, (_, k) => k);
    const chunked = ts(chunk, items, replica, total);
    // Same items for every valid call; the same messages for chunk's errors.
    expect([i, python[i].chunk]).toEqual([i, chunked]);
    const striped = ts(stripe, items, replica, total);
    if (typeof striped === 'string' || typeof python[i].stripe === 'string') {
      expect(typeof striped === 'string').toBe(typeof python[i].stripe === 'string');
    } else expect([i, python[i].stripe]).toEqual([i, striped]);
  });
  // Read REPLICA_ID / REPLICA_COUNT from the environment when not given.
  const fromEnv = execFileSync(
    'python3',
    [
      '-c',
      'from canfar.helpers import distributed; print(list(distributed.chunk(range(10))), list(distributed.stripe(range(10))))',
    ],
    {
      env: { ...process.env, PYTHONPATH: join(dir, 'pylib'), REPLICA_ID: '3', REPLICA_COUNT: '3' },
      encoding: 'utf8',
    },
  );
  expect(fromEnv.trim()).toBe('[6, 7, 8, 9] [2, 5, 8]');
});
