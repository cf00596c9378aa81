/**
 * The local server speaks Skaha v1 as ../shared/notes/skaha-v1.md describes it: status codes, content
 * types, body formats and quirks, over real HTTP on 127.0.0.1, with real processes.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { processAlive } from '../src/node/local/state';
import { IMAGE, LocalApi, sleep, startTestServer, waitFor } from './helpers/local';

type Started = Awaited<ReturnType<typeof startTestServer>>;

describe('local server: Skaha v1 contract', () => {
  let t: Started;
  let api: LocalApi;
  beforeAll(async () => {
    t = await startTestServer();
    api = t.api;
  });
  afterAll(() => t.dispose());

  test('every API call needs the bearer token: 401 text/plain otherwise; availability is public VOSI XML', async () => {
    const none = await fetch(`${t.server.apiUrl}/session`);
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('text/plain');
    expect(await none.text()).toBe('Unauthorized\n');
    const wrong = await new LocalApi(t.server, 'not-the-token').call('GET', '/context');
    expect(wrong.status).toBe(401);

    const availability = await fetch(`${t.server.url}/availability`);
    expect(availability.status).toBe(200);
    expect(await availability.text()).toContain('<vosi:available>true</vosi:available>');
    expect(readFileSync(t.server.tokenFile, 'utf8').trim()).toBe(t.server.token);
    expect(statSync(t.server.tokenFile).mode & 0o777).toBe(0o600);
  });

  test('POST /session answers text/plain "<id>\\n"; the session runs cmd with args split on single spaces', async () => {
    const res = await api.call('POST', '/session', {
      name: 'Echo-Args',
      image: IMAGE,
      cmd: 'printf',
      args: '%s| a  b',
    });
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain');
    expect(res.body).toMatch(/^[a-z][a-z0-9]{7}\n$/);
    const id = res.body.trim();
    const done = await api.waitStatus(id, ['Completed', 'Failed']);
    expect(done.status).toBe('Completed');
    // "%s| a  b" splits into ["%s|", "a", "", "b"]: the empty piece is an argument too.
    expect(await api.logs(id)).toBe('a||b|');
    expect(done.name).toBe('echo-args');
  });

  test('parameters are read from the query string as well as the form body', async () => {
    const query = new URLSearchParams({ name: 'by-query', image: IMAGE, cmd: 'true' });
    const res = await api.call('POST', `/session?${query}`);
    expect(res.status).toBe(200);
    expect((await api.waitStatus(res.body.trim(), ['Completed'])).name).toBe('by-query');
  });

  test('environment: user entries with the service quirk, then skaha_*, HOME = PWD = cwd, OMP_NUM_THREADS', async () => {
    const id = await api.create({
      name: 'envdump',
      image: IMAGE,
      cmd: 'sh',
      args: '-c env;pwd',
      cores: '2',
      ram: '1',
      env: ['KEEP=yes', 'EMPTY=', 'EQUALS=a=b', 'TRAILING=x=', 'REPLICA_ID=1'],
    });
    await api.waitStatus(id, ['Completed']);
    const lines = (await api.logs(id)).split('\n');
    const env = Object.fromEntries(
      lines
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env.KEEP).toBe('yes');
    expect(env.REPLICA_ID).toBe('1');
    expect(env).not.toHaveProperty('EMPTY');
    expect(env).not.toHaveProperty('EQUALS');
    // Java's split drops trailing empty pieces: "TRAILING=x=" is two pieces, kept as x.
    expect(env.TRAILING).toBe('x');
    expect(env.skaha_sessionid).toBe(id);
    expect(env.skaha_username).toBeTruthy();
    expect(env.skaha_hostname).toBe('127.0.0.1');
    expect(env.HOME).toBe(t.home);
    expect(env.PWD).toBe(t.home);
    expect(env.OMP_NUM_THREADS).toBe('2');
    expect(lines).toContain(t.home);
  });

  test('session JSON: strings, requestedRAM in decimal GB for fixed sessions only, times to the second', async () => {
    const fixed = await api.create({ name: 'fixed', image: IMAGE, cmd: 'true', cores: '1', ram: '4' });
    const flexible = await api.create({ name: 'flexible', image: IMAGE, cmd: 'true' });
    const f = await api.waitStatus(fixed, ['Completed']);
    expect(f).toMatchObject({
      id: fixed,
      type: 'headless',
      image: IMAGE,
      requestedRAM: '4.29',
      requestedCPUCores: '1',
      requestedGPUCores: '0',
      isFixedResources: true,
      connectURL: '',
    });
    expect(typeof f.runAsUID).toBe('string');
    expect(Array.isArray(f.supplementalGroups)).toBe(true);
    expect(f.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(f.expiryTime as string) - Date.parse(f.startTime as string)).toBe(
      14 * 24 * 3600 * 1000,
    );
    const x = await api.waitStatus(flexible, ['Completed']);
    expect(x.isFixedResources).toBe(false);
    expect(x).not.toHaveProperty('requestedRAM');
    expect(x).not.toHaveProperty('requestedCPUCores');
    const res = await api.call('GET', `/session/${fixed}`);
    expect(res.type).toBe('application/json');
  });

  test('GET /session filters type and status exactly, case-insensitively; unknown values give []', async () => {
    const id = await api.create({ name: 'filtered', image: IMAGE, cmd: 'true' });
    await api.waitStatus(id, ['Completed']);
    expect((await api.list('?type=HEADLESS&status=completed')).map((s) => s.id)).toContain(id);
    expect(await api.list('?status=Complete')).toEqual([]);
    expect(await api.list('?type=spaceship')).toEqual([]);
    expect((await api.list('?type=notebook')).map((s) => s.id)).not.toContain(id);
  });

  test('a non-zero exit is Failed and its event shows the exit code; the table has the service columns', async () => {
    const missing = await api.create({ name: 'missing-command', image: IMAGE, cmd: 'no-such-command-here' });
    expect((await api.waitStatus(missing, ['Completed', 'Failed'])).status).toBe('Failed');
    expect(await api.events(missing)).toMatch(
      /Warning\s+Failed\s+Process exited with exit code 127 \(command not found/,
    );

    const real = await api.create({ name: 'exit3', image: IMAGE, cmd: 'sh', args: '-c exit\t3' });
    await api.waitStatus(real, ['Failed']);
    const events = await api.events(real);
    const res = await api.call('GET', `/session/${real}?view=events`);
    expect(res.type).toBe('text/plain');
    const [header, ...rows] = events.trimEnd().split('\n');
    expect(header).toMatch(/^TYPE\s{3,}REASON\s{3,}MESSAGE\s{3,}FIRST-TIME\s{3,}LAST-TIME$/);
    expect(rows.map((r) => r.split(/\s{3,}/)[1])).toEqual(['Scheduled', 'ImageNotUsed', 'Started', 'Failed']);
    expect(events).toContain('Process exited with exit code 3');
    // Columns line up: every row's REASON starts where the header's does.
    const at = header.indexOf('REASON');
    for (const row of rows) expect(row[at - 1]).toBe(' ');
  });

  test('headless without cmd fails at once with an event saying the local server runs no images', async () => {
    const id = await api.create({ name: 'no-cmd', image: IMAGE });
    expect((await api.waitStatus(id, ['Failed'])).status).toBe('Failed');
    expect(await api.events(id)).toMatch(/No cmd given.*does not run images/);
  });

  test('unknown ids: GET 404 text, logs 200 empty, events 404, DELETE 200; DELETE /session is 400', async () => {
    const get = await api.call('GET', '/session/zzzzzzzz');
    expect([get.status, get.type, get.body]).toEqual([404, 'text/plain', 'session zzzzzzzz not found.\n']);
    const logs = await api.call('GET', '/session/zzzzzzzz?view=logs');
    expect([logs.status, logs.body]).toEqual([200, '']);
    expect((await api.call('GET', '/session/zzzzzzzz?view=events')).status).toBe(404);
    expect((await api.call('DELETE', '/session/zzzzzzzz')).status).toBe(200);
    const all = await api.call('DELETE', '/session');
    expect([all.status, all.body]).toEqual([400, 'Cannot kill all sessions.\n']);
  });

  test('DELETE of a running session: Terminating, the whole process group ends, then the record is gone', async () => {
    const pidFile = join(t.home, 'grandchild.pid');
    // args are split on spaces, so a script with spaces goes in a file (as batches do with run.sh).
    const file = join(t.home, 'sleeper.sh');
    writeFileSync(file, `sleep 300 & echo $! > ${pidFile}; wait\n`);
    const id3 = await api.create({ name: 'sleeper', image: IMAGE, cmd: 'sh', args: file });
    await api.waitStatus(id3, ['Running']);
    const grandchild = Number(
      await waitFor('pid file', () =>
        existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() || undefined : undefined,
      ),
    );
    const del = await api.call('DELETE', `/session/${id3}`);
    expect([del.status, del.body]).toEqual([200, '']);
    expect(['Terminating', undefined]).toContain((await api.list()).find((s) => s.id === id3)?.status);
    await waitFor('record removal', async () =>
      (await api.call('GET', `/session/${id3}`)).status === 404 ? true : undefined,
    );
    await waitFor('grandchild gone', () => (alive(grandchild) ? undefined : true));
  });

  test('renew: 200 for a running session, 400 for a finished or unknown one', async () => {
    const file = join(t.home, 'sleep5.sh');
    writeFileSync(file, 'sleep 5\n');
    const id = await api.create({ name: 'renewable', image: IMAGE, cmd: 'sh', args: file });
    await api.waitStatus(id, ['Running']);
    const ok = await api.call('POST', `/session/${id}`, { action: 'renew' });
    expect([ok.status, ok.body]).toEqual([200, '']);
    const unknown = await api.call('POST', '/session/zzzzzzzz', { action: 'renew' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatch(/^No active job for user .+ with session zzzzzzzz\n$/);
    expect((await api.call('POST', `/session/${id}`, { action: 'fly' })).body).toBe('unrecognized action\n');
    expect((await api.call('POST', `/session/${id}`)).status).toBe(400);
    await api.call('DELETE', `/session/${id}`);
  });

  test('/context, /image, /repository and stats have the service shapes', async () => {
    // The production LimitRange shape is checked in local-production.spec.ts.
    const context = JSON.parse((await api.call('GET', '/context')).body);
    expect(context.cores.options).toHaveLength(16);
    expect(JSON.parse((await api.call('GET', '/repository')).body)).toEqual(['images.canfar.net']);
    const headless = JSON.parse((await api.call('GET', '/image?type=headless')).body) as {
      id: string;
      types: string[];
    }[];
    expect(headless.length).toBeGreaterThan(0);
    for (const image of headless) {
      expect(image.id.startsWith('images.canfar.net/')).toBe(true);
      expect(image.types).toContain('headless');
    }
    const bad = await api.call('GET', '/image?type=spaceship');
    expect([bad.status, bad.body]).toEqual([400, 'unknown type: spaceship\n']);
    const stats = JSON.parse((await api.call('GET', '/session?view=stats')).body);
    expect(stats).toMatchObject({
      cores: { cpuCoresAvailable: 2, maxCPUCores: { cpuCores: 16, withRam: '32Gi' } },
      ram: { ramAvailable: '16G', maxRAM: { ram: '32Gi', withCPUCores: 16 } },
    });
    expect(typeof stats.cores.requestedCPUCores).toBe('number');
    expect(stats.ram.requestedRAM).toMatch(/^\d+(\.\d+)?G$/);
  });

  test('bad requests get the service status and text, and nothing is started', async () => {
    const before = (await api.list()).length;
    const logsBefore = new Set(readdirSync(join(t.server.stateDir, 'logs')));
    const cases: [Record<string, string>, string][] = [
      [{ name: 'x' }, "Missing parameter 'image'"],
      [{ name: 'x', image: IMAGE, type: 'spaceship' }, 'Invalid session type: spaceship'],
      [{ name: 'x', image: ' ' }, 'image is required'],
      [
        { name: 'x', image: 'docker.io/library/ubuntu' },
        "session image 'docker.io/library/ubuntu' must come from one of [images.canfar.net]",
      ],
      [{ name: 'x', image: IMAGE, cores: '17' }, "Invalid value for 'cores': 17"],
      [{ name: 'x', image: IMAGE, cores: '0' }, "Invalid value for 'cores': 0"],
      [{ name: 'x', image: IMAGE, cores: 'two' }, "Invalid value for 'cores': two"],
      [{ name: 'x', image: IMAGE, ram: '193' }, "Invalid value for 'ram': 193"],
      [{ image: IMAGE }, "Missing parameter 'name'"],
      [{ name: '', image: IMAGE }, "Missing parameter 'name'"],
      [{ name: 'bad_name', image: IMAGE }, "name can only contain alpha-numeric chars and '-'"],
      [{ name: 'a.b', image: IMAGE }, "name can only contain alpha-numeric chars and '-'"],
      [{ name: 'x', image: IMAGE, gpus: '0' }, "Invalid value for 'gpus': 0"],
      [{ name: 'x', image: IMAGE, gpus: '8' }, "Invalid value for 'gpus': 8"],
    ];
    for (const [form, message] of cases) {
      const res = await api.call('POST', '/session', { cmd: 'true', ...form });
      expect({ form, status: res.status, type: res.type, body: res.body }).toEqual({
        form,
        status: 400,
        type: 'text/plain',
        body: `${message}\n`,
      });
    }
    await sleep(100);
    expect((await api.list()).length).toBe(before);
    // No new log file (files of sessions deleted earlier may still be going away).
    expect(readdirSync(join(t.server.stateDir, 'logs')).filter((f) => !logsBefore.has(f))).toEqual([]);
  });

  test('the integer part of cores/ram is what the service validates ("1.5" cores is accepted)', async () => {
    const id = await api.create({ name: 'fractional', image: IMAGE, cmd: 'true', cores: '1.5', ram: '2' });
    expect((await api.waitStatus(id, ['Completed'])).requestedCPUCores).toBe('1.5');
  });
});

describe('local server: interactive sessions, queue and ttl', () => {
  test('interactive kinds are recorded Running with a service-shaped connectURL, capped at maxInteractiveSessions', async () => {
    const t = await startTestServer({ maxInteractiveSessions: 2 });
    try {
      const a = await t.api.create({
        name: 'nb',
        image: 'images.canfar.net/skaha/astroml:latest',
        type: 'notebook',
      });
      const b = await t.api.create({
        name: 'desk',
        image: 'images.canfar.net/skaha/desktop:latest',
        type: 'desktop',
      });
      const nb = await t.api.session(a);
      expect(nb.status).toBe('Running');
      expect(nb.connectURL).toBe(
        `${new URL(t.server.url).origin}/session/notebook/${a}/lab/tree${t.home}?token=${a}`,
      );
      const follow = await fetch(nb.connectURL as string);
      expect([follow.status, await follow.text()]).toEqual([
        404,
        expect.stringContaining('Interactive sessions are recorded only'),
      ]);
      expect((await t.api.session(b)).connectURL).toMatch(
        new RegExp(`/session/desktop/${b}\\?password=${b}&path=session/desktop/${b}/$`),
      );
      const third = await t.api.call('POST', '/session', {
        name: 'carta',
        image: 'images.canfar.net/skaha/carta:latest',
        type: 'carta',
      });
      expect(third.status).toBe(400);
      expect(third.body).toMatch(/^User .+ has reached the maximum of 2 active sessions\.\n$/);
      // Headless sessions are not capped.
      expect(await t.api.create({ name: 'still-ok', image: IMAGE, cmd: 'true' })).toMatch(/^[a-z]/);
      await t.api.call('DELETE', `/session/${a}`);
      expect((await t.api.call('GET', `/session/${a}`)).status).toBe(404);
      expect(
        await t.api.create({ name: 'carta', image: 'images.canfar.net/skaha/carta:latest', type: 'carta' }),
      ).toMatch(/^[a-z]/);
    } finally {
      await t.dispose();
    }
  });

  test('a session that does not fit waits Pending (no startTime, events 404) until capacity frees, in FIFO order', async () => {
    const t = await startTestServer({ cores: 1 });
    try {
      const gate = join(t.home, 'gate');
      const script = join(t.home, 'wait-gate.sh');
      writeFileSync(script, `while [ ! -e ${gate} ]; do sleep 0.05; done\n`);
      const first = await t.api.create({ name: 'first', image: IMAGE, cmd: 'sh', args: script });
      const second = await t.api.create({ name: 'second', image: IMAGE, cmd: 'true' });
      const third = await t.api.create({ name: 'third', image: IMAGE, cmd: 'true' });
      await t.api.waitStatus(first, ['Running']);
      const pending = await t.api.session(second);
      expect(pending.status).toBe('Pending');
      expect(pending).not.toHaveProperty('startTime');
      expect((await t.api.call('GET', `/session/${second}?view=events`)).status).toBe(404);
      expect(await t.api.logs(second)).toBe('');
      const stats = JSON.parse((await t.api.call('GET', '/session?view=stats')).body);
      expect(stats.cores.requestedCPUCores).toBe(1);
      writeFileSync(gate, '');
      const [s2, s3] = [
        await t.api.waitStatus(second, ['Completed']),
        await t.api.waitStatus(third, ['Completed']),
      ];
      expect(Date.parse(s2.startTime as string)).toBeLessThanOrEqual(Date.parse(s3.startTime as string));
    } finally {
      await t.dispose();
    }
  });

  test('a process that ignores SIGTERM is Terminating after the DELETE answers, then SIGKILLed after the grace period', async () => {
    const t = await startTestServer({ killGraceSeconds: 3 });
    try {
      const script = join(t.home, 'stubborn.sh');
      writeFileSync(script, `trap '' TERM\necho ready\nwhile true; do sleep 0.05; done\n`);
      const id = await t.api.create({ name: 'stubborn', image: IMAGE, cmd: 'sh', args: script });
      await waitFor('ready', async () => ((await t.api.logs(id)).includes('ready') ? true : undefined));
      expect((await t.api.call('DELETE', `/session/${id}`)).status).toBe(200);
      expect((await t.api.session(id)).status).toBe('Terminating');
      expect(await t.api.events(id)).toMatch(
        /Normal\s+Killing\s+Stopping process group \d+ \(SIGTERM, SIGKILL after 3 s\)/,
      );
      await waitFor(
        'removal after SIGKILL',
        async () => ((await t.api.call('GET', `/session/${id}`)).status === 404 ? true : undefined),
        10_000,
      );
    } finally {
      await t.dispose();
    }
  });

  test('a command that handles SIGTERM gets to clean up on stop; background leftovers end with the main process', async () => {
    const t = await startTestServer();
    const leftoverPid = join(t.home, 'leftover.pid');
    const polite = join(t.home, 'polite.sh');
    const messy = join(t.home, 'messy.sh');
    writeFileSync(
      polite,
      `trap 'echo cleaning up; exit 0' TERM\necho ready\nwhile true; do sleep 0.05; done\n`,
    );
    writeFileSync(messy, `sleep 300 &\necho $! > ${leftoverPid}\nexit 0\n`);
    const messyId = await t.api.create({ name: 'messy', image: IMAGE, cmd: 'sh', args: messy });
    expect((await t.api.waitStatus(messyId, ['Completed', 'Failed'])).status).toBe('Completed');
    const leftover = Number(readFileSync(leftoverPid, 'utf8'));
    await waitFor('the leftover to be killed', () => (alive(leftover) ? undefined : true));

    const id = await t.api.create({ name: 'polite', image: IMAGE, cmd: 'sh', args: polite });
    await waitFor('ready', async () => ((await t.api.logs(id)).includes('ready') ? true : undefined));
    await t.server.close();
    const record = JSON.parse(readFileSync(join(t.server.stateDir, 'sessions', `${id}.json`), 'utf8'));
    expect(record.status).toBe('Failed');
    expect(record.events.at(-1)).toMatchObject({ reason: 'Killed' });
    // (sh may also report its own `sleep` child as "Terminated".)
    expect(readFileSync(join(t.server.stateDir, 'logs', `${id}.log`), 'utf8')).toMatch(
      /^ready\n(Terminated\n)?cleaning up\n$/,
    );
    await t.dispose();
  });

  test('finished sessions disappear after the ttl: GET 404, logs empty, events 404, files removed', async () => {
    const t = await startTestServer({ ttlSeconds: 1 });
    try {
      const id = await t.api.create({ name: 'short-lived', image: IMAGE, cmd: 'echo', args: 'bye' });
      await t.api.waitStatus(id, ['Completed']);
      expect(await t.api.logs(id)).toBe('bye\n');
      await waitFor(
        'ttl removal',
        async () => ((await t.api.call('GET', `/session/${id}`)).status === 404 ? true : undefined),
        5000,
      );
      expect(await t.api.logs(id)).toBe('');
      expect((await t.api.call('GET', `/session/${id}?view=events`)).status).toBe(404);
      const files = () => [
        ...readdirSync(join(t.server.stateDir, 'sessions')),
        ...readdirSync(join(t.server.stateDir, 'logs')),
      ];
      await waitFor('files removed', () => (files().length === 0 ? true : undefined), 5000);
    } finally {
      await t.dispose();
    }
  });

  test('close() ends running sessions and records them as Failed (Killed); server.json goes', async () => {
    const t = await startTestServer();
    const file = join(t.home, 'long.sh');
    writeFileSync(file, 'sleep 300\n');
    const id = await t.api.create({ name: 'long', image: IMAGE, cmd: 'sh', args: file });
    const running = await t.api.waitStatus(id, ['Running']);
    expect(JSON.parse(readFileSync(join(t.server.stateDir, 'server.json'), 'utf8'))).toMatchObject({
      url: t.server.url,
      pid: process.pid,
    });
    expect(running.status).toBe('Running');
    await t.server.close();
    const record = JSON.parse(readFileSync(join(t.server.stateDir, 'sessions', `${id}.json`), 'utf8'));
    expect(record.status).toBe('Failed');
    expect(record.events.at(-1)).toMatchObject({ reason: 'Killed' });
    expect(alive(record.pid)).toBe(false);
    expect(existsSync(join(t.server.stateDir, 'server.json'))).toBe(false);
    await t.dispose();
  });
});

/** Running and not a zombie (orphans of a container without an init may linger as zombies). */
const alive = (pid: number): boolean => processAlive(pid);
