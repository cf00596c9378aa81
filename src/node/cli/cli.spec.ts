import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../../test/helpers/cli';
import { startLocalServer, type LocalServer } from '../local';
import { main } from './run';

// The CLI in-process against the local server found the way a user's shell finds it: `--url local`
// reads <XDG_DATA_HOME>/jupyterlab-canfar/local/server.json. Exit codes and stdout/stderr are asserted.
const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

let root: string;
let server: LocalServer;
let env: NodeJS.ProcessEnv;

const cli = (...argv: string[]) => runCli(argv, env);

async function cliJson<T = unknown>(...argv: string[]): Promise<T> {
  const result = await cli('--json', ...argv);
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function waitFinished(id: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [session] = await cliJson<{ status: string }[]>('info', id);
    if (session.status === 'Completed' || session.status === 'Failed') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`session ${id} did not finish`);
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'canfar-cli-'));
  // HOME without credentials, XDG_DATA_HOME holding the local server's state: nothing of the real user's.
  env = { HOME: join(root, 'home'), XDG_DATA_HOME: join(root, 'data'), PATH: process.env.PATH };
  server = await startLocalServer({
    stateDir: join(root, 'data', 'jupyterlab-canfar', 'local'),
    cores: 4,
    ramGB: 8,
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('canfar-lab usage', () => {
  it('--version prints the package version', async () => {
    const result = await cli('--version');
    expect(result).toEqual({ code: 0, stdout: `${require('../../../package.json').version}\n`, stderr: '' });
  });

  it('--help lists the verbs; VERB --help prints its usage, on stdout, exit 0', async () => {
    const top = await cli('--help');
    expect(top.code).toBe(0);
    for (const verb of [
      'create',
      'ps',
      'info',
      'logs',
      'events',
      'delete',
      'prune',
      'stats',
      'images',
      'context',
    ]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    }
    const create = await cli('create', '--help');
    expect(create.code).toBe(0);
    expect(create.stdout).toContain('Usage: canfar-lab create [OPTIONS] KIND IMAGE [-- CMD [ARGS...]]');
  });

  it('--help --json gives every verb its usage and options, and the copy the Python magic reads is current', async () => {
    const result = await cli('--help', '--json');
    expect(result.code).toBe(0);
    const spec = JSON.parse(result.stdout);
    expect(spec.verbs.submit.options.replicas).toEqual({ type: 'string', short: 'r' });
    expect(spec.verbs.logs.options.follow).toEqual({ type: 'boolean', short: 'f' });
    expect(spec.verbs.ps.usage).toContain('Usage: canfar-lab ps');
    expect(spec.globals.url).toEqual({ type: 'string' });
    const one = JSON.parse((await cli('submit', '--help', '--json')).stdout);
    expect(Object.keys(one.verbs)).toEqual(['submit']);
    // jupyterlab_canfar/kernel/cli-spec.json is written by `npm run build:node`: run it after changing a flag.
    const copy = JSON.parse(
      readFileSync(resolve(__dirname, '../../../jupyterlab_canfar/kernel/cli-spec.json'), 'utf8'),
    );
    expect(copy).toEqual(spec);
  });

  it('bad usage exits 2 with a message on stderr and nothing on stdout', async () => {
    for (const argv of [
      [],
      ['frobnicate'],
      ['ps', '--bogus'],
      ['ps', '-k', 'spaceship'],
      ['create', 'headless'],
      ['logs'],
    ]) {
      const result = await cli(...argv);
      expect({ argv, code: result.code, stdout: result.stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(result.stderr).toMatch(/canfar-lab/);
    }
    expect((await cli('frobnicate')).stderr).toContain('unknown verb "frobnicate"');
    expect((await cli('ps', '-k', 'spaceship')).stderr).toContain('--kind must be one of notebook, desktop');
  });

  it('a malformed --url is bad usage (2); an unreachable server is a failure (1)', async () => {
    expect((await cli('--url', 'ftp://example.org/skaha', '--token', 't', 'ps')).code).toBe(2);
    const down = await cli('--url', 'http://127.0.0.1:9/skaha', '--token', 't', 'ps');
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('connection refused by 127.0.0.1:9');
  });
});

describe('canfar-lab against the local server', () => {
  it('context --json names the endpoint, the URL and the credential source, never the token', async () => {
    const result = await cli('context', '--json');
    expect(result.code).toBe(0);
    const context = JSON.parse(result.stdout);
    expect(context).toMatchObject({
      endpoint: 'local',
      url: server.apiUrl,
      repositories: ['images.canfar.net'],
    });
    expect(context.credential.source).toContain(server.tokenFile);
    expect(result.stdout).not.toContain(server.token);
  });

  it('create with replicas, then ps, info, logs, events, prune', async () => {
    const outcomes = await cliJson<{ ok: boolean; name: string; sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'sweep',
      '-r',
      '3',
      '-e',
      'GREETING=hi',
      '--',
      'printenv',
      'REPLICA_ID',
    );
    expect(outcomes.map((o) => [o.ok, o.name])).toEqual([
      [true, 'sweep-1'],
      [true, 'sweep-2'],
      [true, 'sweep-3'],
    ]);
    const ids = outcomes.map((o) => o.sessionId);
    for (const id of ids) await waitFinished(id);

    const all = await cliJson<{ id: string; name: string; status: string }[]>('ps', '-a');
    expect(all.filter((s) => ids.includes(s.id)).map((s) => s.status)).toEqual([
      'Completed',
      'Completed',
      'Completed',
    ]);
    expect(await cliJson('ps')).toEqual([]); // only pending and running by default

    const quiet = await cli('ps', '-a', '-q');
    expect(quiet.stdout.trim().split('\n').sort()).toEqual([...ids].sort());

    const table = await cli('ps', '-a', '-k', 'headless');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+KIND\s+STATUS\s+CPU\s+RAM\s+AGE\s+IMAGE$/);
    // Aligned: every row has its STATUS where the header has it.
    const statusAt = lines[0].indexOf('STATUS');
    for (const row of lines.slice(1)) expect(row.slice(statusAt, statusAt + 9)).toBe('Completed');

    const logs = await cli('logs', ids[1]);
    expect(logs).toMatchObject({ code: 0, stdout: '2\n' });

    // -f on a finished session: the whole log, then the command ends (the session has ended).
    expect(await cli('logs', '-f', ids[1])).toMatchObject({ code: 0, stdout: '2\n' });

    const events = await cli('events', ids[0]);
    expect(events.code).toBe(0);
    expect(events.stdout.split('\n')[0]).toMatch(/^TYPE\s+REASON\s+FIRST\s+LAST\s+MESSAGE$/);

    const info = await cli('info', ids[0]);
    expect(info.stdout).toMatch(/^Name:\s+sweep-1$/m);

    const pruned = await cliJson<{ id: string; deleted: boolean }[]>('prune', 'sweep-[12]$');
    expect(pruned.map((p) => p.id).sort()).toEqual([ids[0], ids[1]].sort());
    const left = await cliJson<{ id: string }[]>('ps', '-a');
    expect(left.map((s) => s.id)).toContain(ids[2]);
    expect(left.map((s) => s.id)).not.toContain(ids[0]);
  });

  it("logs -f prints a running session's log as it is written and ends with the session", async () => {
    const script = join(root, 'two-lines.sh');
    writeFileSync(script, 'echo first\nsleep 2\necho second\n');
    const [outcome] = await cliJson<{ sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'tail',
      '--',
      'sh',
      script,
    );
    const followed = await cli('logs', '-f', outcome.sessionId);
    expect(followed).toEqual({ code: 0, stdout: 'first\nsecond\n', stderr: '' });
    const [session] = await cliJson<{ status: string }[]>('info', outcome.sessionId);
    expect(session.status).toBe('Completed');
  });

  it('events of a queued session: no pod yet, said as such (exit 0); of an unknown id: the 404 (exit 1)', async () => {
    const [blocker] = await cliJson<{ sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'blocker',
      '-c',
      '4',
      '--',
      'sleep',
      '60',
    );
    const [queued] = await cliJson<{ sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'waits',
      '--',
      'true',
    );
    try {
      const [session] = await cliJson<{ status: string; startTime?: string }[]>('info', queued.sessionId);
      expect(session.status).toBe('Pending');
      expect(session.startTime).toBeUndefined();
      expect(await cli('events', queued.sessionId)).toEqual({
        code: 0,
        stdout: '',
        stderr: `No events: session ${queued.sessionId} waits in the platform's queue (it has no pod yet).\n`,
      });
      expect(await cliJson('events', queued.sessionId)).toEqual([]);
      const unknown = await cli('events', 'zzzzzzzz');
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('404');
    } finally {
      await cli('delete', '-f', blocker.sessionId, queued.sessionId);
    }
  });

  it('bad input is refused before any request: exit 2, nothing created', async () => {
    const before = (await cliJson<unknown[]>('ps', '-a')).length;
    const cases: [string[], RegExp][] = [
      [['-n', 'bad_name'], /"_"/],
      [['-g', '0'], /gpus=0/],
      [['-c', '999'], /cores=999 is not offered by this service/],
      [['-c', '17'], /cores=17 is not offered by this service: choose one of 1\.\.16/],
      [['-n', 'job-'], /name "job-" ends with "-": it must end with a letter or digit/],
      [['-n', 'a'.repeat(62), '-r', '10'], /too long for 10 replicas: "a{62}-10" has 65 characters/],
      [['-e', 'EMPTY='], /EMPTY/],
      [['-r', '513'], /replicas=513/],
    ];
    for (const [extra, message] of cases) {
      const result = await cli('create', 'headless', IMAGE, ...extra, '--', 'true');
      expect({ extra, code: result.code }).toEqual({ extra, code: 2 });
      expect(result.stderr).toMatch(message);
    }
    const wrongRegistry = await cli('create', 'headless', 'docker.io/library/ubuntu:24.04');
    expect(wrongRegistry.code).toBe(2);
    expect(wrongRegistry.stderr).toContain('images.canfar.net');
    expect((await cliJson<unknown[]>('ps', '-a')).length).toBe(before);
  });

  it('--dry-run prints the exact POSTs, credential redacted, and sends none', async () => {
    const before = (await cliJson<unknown[]>('ps', '-a')).length;
    const posts = await cliJson<
      { method: string; url: string; headers: Record<string, string>; form: [string, string][] }[]
    >(
      'create',
      'headless',
      IMAGE,
      '-n',
      'dry',
      '-r',
      '2',
      '-c',
      '2',
      '--dry-run',
      '--',
      'python3',
      '/arc/run.py',
    );
    expect(posts).toHaveLength(2);
    expect(posts[1]).toMatchObject({ method: 'POST', url: `${server.apiUrl}/session` });
    expect(posts[1].headers.Authorization).toBe('Bearer <redacted>');
    expect(posts[1].form).toEqual([
      ['name', 'dry-2'],
      ['image', IMAGE],
      ['type', 'headless'],
      ['cores', '2'],
      ['cmd', 'python3'],
      ['args', '/arc/run.py'],
      ['env', 'REPLICA_ID=2'],
      ['env', 'REPLICA_COUNT=2'],
    ]);
    expect((await cliJson<unknown[]>('ps', '-a')).length).toBe(before);
  });

  it('delete: refuses without -f when not a terminal (2); -f deletes; an unknown id is reported (1)', async () => {
    const [outcome] = await cliJson<{ sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'doomed',
      '--',
      'true',
    );
    const refused = await cli('delete', outcome.sessionId);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('add -f');
    expect((await cliJson<{ id: string }[]>('ps', '-a')).map((s) => s.id)).toContain(outcome.sessionId);

    const deleted = await cli('delete', '-f', outcome.sessionId, 'zzzzzzzz');
    expect(deleted.code).toBe(1);
    expect(deleted.stdout).toContain(`deleted ${outcome.sessionId}`);
    expect(deleted.stderr).toContain('session zzzzzzzz not found');
    expect((await cliJson<{ id: string }[]>('ps', '-a')).map((s) => s.id)).not.toContain(outcome.sessionId);
  });

  it('delete on a terminal asks; only "y" deletes', async () => {
    const [outcome] = await cliJson<{ sessionId: string }[]>(
      'create',
      'headless',
      IMAGE,
      '-n',
      'asked',
      '--',
      'true',
    );
    const ask = async (answer: string) => {
      const stdin = Object.assign(new PassThrough(), { isTTY: true });
      const stdout = new PassThrough();
      const stderr = Object.assign(new PassThrough(), { isTTY: true });
      let out = '';
      let err = '';
      stdout.on('data', (c) => (out += c));
      stderr.on('data', (c) => {
        err += c;
        if (String(c).includes('[y/N]')) stdin.write(`${answer}\n`);
      });
      const code = await main(['delete', outcome.sessionId], { stdin, stdout, stderr, env });
      return { code, out, err };
    };
    const no = await ask('n');
    expect(no.err).toContain(`Delete 1 session(s): ${outcome.sessionId} (asked,`);
    expect(no.err).toContain('Nothing deleted.');
    expect(no.code).toBe(1);
    expect((await cliJson<{ id: string }[]>('ps', '-a')).map((s) => s.id)).toContain(outcome.sessionId);
    const yes = await ask('y');
    expect(yes.code).toBe(0);
    expect(yes.out).toContain(`deleted ${outcome.sessionId}`);
    expect((await cliJson<{ id: string }[]>('ps', '-a')).map((s) => s.id)).not.toContain(outcome.sessionId);
  });

  it('create -r on a terminal draws one progress line; elsewhere one plain line per replica', async () => {
    const run = async (tty: boolean) => {
      const stdout = new PassThrough();
      const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 80 });
      let err = '';
      stderr.on('data', (c) => (err += c));
      stdout.resume();
      const code = await main(
        ['create', 'headless', IMAGE, '-n', `bar${tty ? 't' : 'p'}`, '-r', '3', '--', 'true'],
        {
          stdout,
          stderr,
          env,
        },
      );
      return { code, err };
    };
    const plain = await run(false);
    expect(plain.code).toBe(0);
    expect(plain.err).toMatch(/^\[1\/3\] created barp-\d: [a-z0-9]{8}$/m);
    expect(plain.err).not.toContain('\r');
    const tty = await run(true);
    expect(tty.code).toBe(0);
    // Redrawn in place: carriage return + erase-line (ESC [2K) before each frame.
    expect(tty.err).toContain('\r\u001b[2K');
    expect(tty.err).toMatch(/creating bart \[#+-*\] 3\/3/);
    expect(tty.err).not.toMatch(/^\[1\/3\]/m);
  });

  it('stats and images, as tables and as JSON', async () => {
    expect(await cliJson('stats')).toMatchObject({ cores: { available: 4 } });
    const images = await cliJson<{ id: string }[]>('images', '-k', 'headless');
    expect(images.map((i) => i.id)).toContain(IMAGE);
    const table = await cli('stats');
    expect(table.stdout.split('\n')[0]).toMatch(/REQUESTED\s+AVAILABLE\s+MAX\/SESSION/);
  });

  it('a wrong token: exit 1 with the service text, as JSON on stderr under --json', async () => {
    const result = await cli('--url', server.url, '--token', 'wrong', 'ps', '--json');
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr).error).toMatchObject({
      code: 'unauthenticated',
      status: 401,
      serviceMessage: 'Unauthorized',
    });
  });

  it('Ctrl-C while waiting for the service: the request is cancelled, exit 130', async () => {
    const silent = createServer(() => undefined);
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const controller = new AbortController();
      const stderr = new PassThrough();
      let err = '';
      stderr.on('data', (c) => (err += c));
      setTimeout(() => controller.abort(new Error('interrupted')), 100);
      const started = Date.now();
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/skaha`;
      const code = await main(['--url', url, '--token', 't', 'ps'], {
        stdout: new PassThrough(),
        stderr,
        env,
        signal: controller.signal,
      });
      expect(code).toBe(130);
      expect(err).toContain('canfar-lab ps: interrupted.');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('no credentials for a remote URL: exit 1 and the list of sources tried', async () => {
    const result = await cli('--url', 'https://example.invalid/skaha', 'ps');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No usable CANFAR credentials. Tried, in order:');
    expect(result.stderr).toContain('~/.ssl/cadcproxy.pem: no such file');
  });
});

// The built executable, as a user runs it (needs `npm run build:node`). Spawned asynchronously: the local
// server answering it lives in this very process.
const cliPath = resolve(__dirname, '../../../bin/canfar-lab.js');
const built = existsSync(resolve(__dirname, '../../../dist/node/cli.cjs'));
function spawnCli(...argv: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cliPath, ...argv], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}
(built ? it : it.skip)('bin/canfar-lab.js runs: ps --json exits 0, bad usage exits 2', async () => {
  const ok = await spawnCli('ps', '-a', '--json');
  expect(ok.status).toBe(0);
  expect(Array.isArray(JSON.parse(ok.stdout))).toBe(true);
  const bad = await spawnCli('ps', '--nope');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain("unknown option '--nope'");
});
