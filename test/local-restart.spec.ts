/**
 * The local server as a separate process (the `canfar-lab local` command, bundled with esbuild): kill -9
 * during a run, restart on the same state directory, and nothing is lost; each interrupted session is
 * explained. Also the command's human output, its --json line, and a clean stop on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildSync } from 'esbuild';

import type { LocalServer } from '../src/node/local';
import { processAlive } from '../src/node/local/state';
import { IMAGE, LocalApi, waitFor } from './helpers/local';

let root: string;
let bundle: string;
const children: ChildProcess[] = [];
const sessionGroups: number[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'canfar-local-restart-'));
  bundle = join(root, 'local.cjs');
  buildSync({
    entryPoints: [join(__dirname, '../src/node/local/cli-entry.ts')],
    bundle: true,
    platform: 'node',
    outfile: bundle,
    logLevel: 'error',
  });
});

afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pgid of sessionGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  rmSync(root, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], env: NodeJS.ProcessEnv = process.env): Running {
  const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function startJson(
  state: string,
  extra: string[] = [],
): Promise<{ proc: Running; info: { url: string; apiUrl: string; tokenFile: string; pid: number } }> {
  const proc = run(['--json', '--port', '0', '--state', state, ...extra]);
  const line = await waitFor(
    `the --json line (stderr so far: ${proc.stderr()})`,
    () => (proc.stdout().includes('\n') ? proc.stdout().split('\n')[0] : undefined),
    10_000,
  );
  return { proc, info: JSON.parse(line) };
}

function apiFor(info: { url: string; apiUrl: string; tokenFile: string }, state: string): LocalApi {
  const token = readFileSync(info.tokenFile, 'utf8').trim();
  const server: LocalServer = {
    url: info.url,
    apiUrl: info.apiUrl,
    token,
    tokenFile: info.tokenFile,
    stateDir: state,
    capacity: { cores: 0, ramGB: 0 },
    preempt: () => false,
    close: async () => undefined,
  };
  return new LocalApi(server);
}

const record = (state: string, id: string) =>
  JSON.parse(readFileSync(join(state, 'sessions', `${id}.json`), 'utf8'));

test('kill -9 of the server mid-run, restart: every record kept, running processes adopted, the others explained', async () => {
  const state = join(root, 'state-crash');
  const home = join(root, 'home');
  mkdirSync(home, { recursive: true });
  const gate = join(home, 'gate');
  const gate2 = join(home, 'gate2');
  const waitGate = (file: string, code: number) => {
    const script = join(home, `wait-${code}.sh`);
    writeFileSync(
      script,
      `echo "started $skaha_sessionid"\nwhile [ ! -e ${file} ]; do sleep 0.05; done\necho "finished $skaha_sessionid"\nexit ${code}\n`,
    );
    return script;
  };

  const first = await startJson(state, ['--cores', '4', '--ram', '32']);
  expect(first.info).toEqual({
    url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/skaha$/),
    apiUrl: `${first.info.url}/v1`,
    tokenFile: join(state, 'token'),
    pid: first.proc.child.pid,
  });
  expect(JSON.parse(readFileSync(join(state, 'server.json'), 'utf8'))).toEqual(first.info);
  const api = apiFor(first.info, state);
  const create = (name: string, args: string) => api.create({ name, image: IMAGE, cmd: 'sh', args });

  const done = await api.create({ name: 'done', image: IMAGE, cmd: 'echo', args: 'done-before-crash' });
  await api.waitStatus(done, ['Completed']);
  const survivor = await create('survivor', waitGate(gate, 0));
  const blocker = await create('blocker', waitGate(gate, 0));
  const finisher = await create('finisher', waitGate(gate2, 4));
  const victim = await create('victim', waitGate(gate, 0));
  const queued = [
    await api.create({ name: 'queued-1', image: IMAGE, cmd: 'echo', args: 'q1' }),
    await api.create({ name: 'queued-2', image: IMAGE, cmd: 'echo', args: 'q2' }),
  ];
  for (const id of [survivor, blocker, finisher, victim]) {
    await api.waitStatus(id, ['Running']);
    sessionGroups.push(record(state, id).pid);
  }
  for (const id of queued) expect((await api.session(id)).status).toBe('Pending');
  await waitFor('survivor output', async () =>
    (await api.logs(survivor)).includes('started') ? true : undefined,
  );

  first.proc.child.kill('SIGKILL');
  await first.proc.exited;
  // While the server is down: one session's processes are killed outright, another one ends by itself.
  process.kill(-record(state, victim).pid, 'SIGKILL');
  writeFileSync(gate2, '');
  await waitFor('finisher exit file', () =>
    existsSync(join(state, 'logs', `${finisher}.exit`)) ? true : undefined,
  );
  await waitFor('victim gone', () => (processAlive(record(state, victim).pid) ? undefined : true));

  // A restart that cannot get its port must leave the sessions alone (no adoption, no kill, no Failed).
  const blockerSocket = createServer();
  await new Promise<void>((resolve) => blockerSocket.listen(0, '127.0.0.1', resolve));
  const busy = run(['--port', String((blockerSocket.address() as AddressInfo).port), '--state', state]);
  expect(await busy.exited).toBe(1);
  expect(busy.stderr()).toContain('is already in use');
  blockerSocket.close();
  expect(record(state, survivor).status).toBe('Running');
  expect(processAlive(record(state, survivor).pid)).toBe(true);
  expect(record(state, victim).status).toBe('Running');

  const second = await startJson(state, ['--cores', '4', '--ram', '32']);
  const api2 = apiFor(second.info, state);
  const all = await api2.list();
  expect(all.map((s) => s.id).sort()).toEqual([done, survivor, blocker, finisher, victim, ...queued].sort());

  expect((await api2.session(done)).status).toBe('Completed');
  expect(await api2.logs(done)).toBe('done-before-crash\n');

  for (const id of [survivor, blocker]) {
    expect((await api2.session(id)).status).toBe('Running');
    expect(await api2.events(id)).toMatch(
      /Normal\s+Adopted\s+The local server restarted and found process \d+ still running/,
    );
  }
  const finished = await api2.session(finisher);
  expect(finished.status).toBe('Failed');
  const finisherEvents = await api2.events(finisher);
  expect(finisherEvents).toMatch(/Recovered\s+The process ended while the local server was down/);
  expect(finisherEvents).toContain('Process exited with exit code 4');
  expect(await api2.logs(finisher)).toContain(`finished ${finisher}`);

  expect((await api2.session(victim)).status).toBe('Failed');
  expect(await api2.events(victim)).toMatch(
    /Warning\s+Failed\s+The local server stopped abruptly \(crash or kill -9\) while this session was running; its process \(pid \d+\) is gone and its exit code is unknown/,
  );

  // The queued sessions run on the cores the two ended sessions left; the adopted ones end with the gate.
  writeFileSync(gate, '');
  for (const id of [survivor, blocker, ...queued])
    expect((await api2.waitStatus(id, ['Completed', 'Failed'])).status).toBe('Completed');
  expect(await api2.logs(survivor)).toBe(`started ${survivor}\nfinished ${survivor}\n`);
  expect(await api2.logs(queued[1])).toBe('q2\n');

  second.proc.child.kill('SIGTERM');
  expect(await second.proc.exited).toBe(0);
  expect(existsSync(join(state, 'server.json'))).toBe(false);
}, 60_000);

test('canfar-lab local: human output names the URL and token file; a second server on the same state is refused; SIGINT stops it', async () => {
  const state = join(root, 'state-human');
  const proc = run(['--port', '0', '--state', state, '--ttl', '60']);
  const out = await waitFor(
    'the banner',
    () => (proc.stdout().includes('Token file:') ? proc.stdout() : undefined),
    10_000,
  );
  expect(out).toMatch(/^Local Skaha server: http:\/\/127\.0\.0\.1:\d+\/skaha\n/);
  expect(out).toContain(`Token file: ${join(state, 'token')}\n`);
  expect(out).not.toContain(readFileSync(join(state, 'token'), 'utf8').trim());

  const again = run(['--port', '0', '--state', state]);
  expect(await again.exited).toBe(1);
  expect(again.stderr()).toMatch(
    /Another local server \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/skaha\) already uses the state directory/,
  );

  const bad = run(['--ttl', 'soon']);
  expect(await bad.exited).toBe(2);
  expect(bad.stderr()).toContain('--ttl must be a number >= 0, got "soon".');

  proc.child.kill('SIGINT');
  expect(await proc.exited).toBe(0);
  expect(existsSync(join(state, 'server.json'))).toBe(false);
}, 30_000);

test('canfar-lab local --preempt-after: a session requeued by its preemption stays queued across a kill -9, then runs again from the start, once', async () => {
  const state = join(root, 'state-preempt');
  const home = join(root, 'home-preempt');
  mkdirSync(home, { recursive: true });
  const runsFile = join(home, 'runs');
  // Sessions of the CLI run in the real home directory: the script writes by absolute path only.
  const script = join(home, 'replica.sh');
  writeFileSync(
    script,
    [
      `echo start >> ${runsFile}`,
      `trap 'echo term >> ${runsFile}; exit 143' TERM`,
      `if [ "$(grep -c start ${runsFile})" = 1 ]; then sleep 60 & wait $!; fi`,
      `echo done >> ${runsFile}`,
      '',
    ].join('\n'),
  );
  const flags = ['--cores', '2', '--ram', '16', '--preempt-after', '1', '--preempt-requeue', '3'];
  const first = await startJson(state, flags);
  const api = apiFor(first.info, state);
  const id = await api.create({ name: 'preempted', image: IMAGE, cmd: 'sh', args: script });
  await waitFor('the requeue after the preemption', () => {
    const r = record(state, id);
    return r.status === 'Pending' && r.preemptions === 1 ? true : undefined;
  });
  expect(record(state, id).startTime).toBeUndefined();
  first.proc.child.kill('SIGKILL');
  await first.proc.exited;

  const second = await startJson(state, flags);
  const api2 = apiFor(second.info, state);
  const done = await api2.waitStatus(id, ['Completed', 'Failed'], 20_000);
  expect(done.status).toBe('Completed');
  expect(readFileSync(runsFile, 'utf8')).toBe('start\nterm\nstart\ndone\n');
  expect((await api2.events(id)).match(/^Warning\s+Preempted\s/gm)).toHaveLength(1);
  second.proc.child.kill('SIGTERM');
  expect(await second.proc.exited).toBe(0);
}, 60_000);

test('CANFAR_LOCAL_ARGS sets options of a server something else starts; the command line wins; a bad one is named', async () => {
  const state = join(root, 'state-env-args');
  const env = { ...process.env, CANFAR_LOCAL_ARGS: ' --cores 3  --ram 20 --preempt-after 2 ' };
  const proc = run(['--port', '0', '--state', state, '--ram', '24'], env);
  const out = await waitFor(
    'the banner',
    () => (proc.stdout().includes('Preemption:') ? proc.stdout() : undefined),
    10_000,
  );
  expect(out).toContain('  Capacity:   3 cores, 24 GB (sessions beyond wait Pending)\n');
  expect(out).toContain('  Preemption: every headless session once, 2 s after it starts\n');
  proc.child.kill('SIGTERM');
  expect(await proc.exited).toBe(0);

  const bad = run(['--port', '0', '--state', state], {
    ...process.env,
    CANFAR_LOCAL_ARGS: '--preempt-after soon',
  });
  expect(await bad.exited).toBe(2);
  expect(bad.stderr()).toContain(
    '--preempt-after must be a number >= 0, got "soon". (CANFAR_LOCAL_ARGS=--preempt-after soon came first)',
  );
}, 30_000);
