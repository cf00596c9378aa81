/**
 * The local server follows production CANFAR as the notes' section "Production since July 2026" describes
 * it (../shared/notes/skaha-v1.md): Kueue admission by quota (queued sessions' answers, interactive before
 * headless, FIFO within a priority), preemption (Running -> Pending without startTime -> Running again with
 * a new startTime, the command run from the start after a real SIGTERM), the LimitRange /context, the
 * interactive and all views, and the label and name errors. One test per fact, over real HTTP on
 * 127.0.0.1 with real processes; every wait is a poll with a deadline.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { FaultInjector } from '../src/node/local/faults';
import type { FaultOptions } from '../src/node/local';
import { IMAGE, startTestServer, waitFor } from './helpers/local';

type Started = Awaited<ReturnType<typeof startTestServer>>;

const NOTEBOOK = 'images.canfar.net/skaha/astroml:latest';

async function withServer<T>(
  options: Parameters<typeof startTestServer>[0],
  body: (t: Started) => Promise<T>,
): Promise<T> {
  const t = await startTestServer(options);
  try {
    return await body(t);
  } finally {
    await t.dispose();
  }
}

/** A script in the home directory (args are split on spaces, so commands with spaces go in files). */
function script(t: Started, name: string, text: string): string {
  const file = join(t.home, name);
  writeFileSync(file, text);
  return file;
}

/**
 * A replica that records each run in $HOME/<name>.runs: "start" when it starts, "term" when it gets
 * SIGTERM (then exits 143), "done" when it ends normally. Its first run waits 60 s (it is meant to be
 * preempted); later runs end at once, or once `laterGate` exists. It prints "run <n>" to its log.
 */
function recordingScript(t: Started, laterGate?: string): string {
  const later = laterGate ? `while [ ! -e ${laterGate} ]; do sleep 0.05; done` : 'true';
  return script(
    t,
    'recording.sh',
    [
      'f="$HOME/$1.runs"',
      'echo start >> "$f"',
      `trap 'echo term >> "$f"; exit 143' TERM`,
      'n=$(grep -c start "$f")',
      'echo "run $n"',
      `if [ "$n" = 1 ]; then sleep 60 & wait $!; else ${later}; fi`,
      'echo done >> "$f"',
      '',
    ].join('\n'),
  );
}

const runs = (t: Started, name: string): string => {
  const file = join(t.home, `${name}.runs`);
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
};

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('/context has the LimitRange shape; capacity is enforced by admission, not by /context', async () => {
  await withServer({ cores: 2, ramGB: 16 }, async (t) => {
    const res = await t.api.call('GET', '/context');
    expect(res.type).toBe('application/json');
    expect(JSON.parse(res.body)).toEqual({
      cores: { default: 1, defaultRequest: 1, defaultLimit: 16, options: range(16) },
      memoryGB: { default: 4, defaultRequest: 4, defaultLimit: 32, options: range(192) },
      gpus: { options: range(7) },
      maxInteractiveSessions: 3,
    });
    // 4 cores on a 2-core server: accepted, as by the service, and queued for good without blocking others.
    const big = await t.api.create({ name: 'too-big', image: IMAGE, cmd: 'true', cores: '4', ram: '2' });
    const small = await t.api.create({ name: 'small', image: IMAGE, cmd: 'true' });
    expect((await t.api.waitStatus(small, ['Completed'])).status).toBe('Completed');
    const waiting = await t.api.session(big);
    expect(waiting.status).toBe('Pending');
    expect(waiting).not.toHaveProperty('startTime');
  });
  // The former shape stays available: only what fits in the capacity, no GPU.
  await withServer({ cores: 2, ramGB: 16, context: 'capacity' }, async (t) => {
    expect(JSON.parse((await t.api.call('GET', '/context')).body)).toEqual({
      cores: { default: 2, defaultRequest: 1, defaultLimit: 2, options: [1, 2] },
      memoryGB: { default: 8, defaultRequest: 4, defaultLimit: 14, options: [1, 2, 4, 6, 8, 10, 12, 14] },
      gpus: { options: [] },
      maxInteractiveSessions: 3,
    });
  });
});

test('a queued session: Pending without startTime, events 404 "session <id> not found.", logs empty, renew 400, listed, DELETE 200 takes it out of the queue', async () => {
  await withServer({ cores: 1 }, async (t) => {
    const gate = join(t.home, 'gate');
    const blocker = await t.api.create({
      name: 'blocker',
      image: IMAGE,
      cmd: 'sh',
      args: script(t, 'gate.sh', `while [ ! -e ${gate} ]; do sleep 0.05; done\n`),
    });
    await t.api.waitStatus(blocker, ['Running']);
    const marker = join(t.home, 'queued-ran');
    const queued = await t.api.create({ name: 'queued', image: IMAGE, cmd: 'touch', args: marker });
    const later = await t.api.create({ name: 'later', image: IMAGE, cmd: 'echo', args: 'later' });

    const session = await t.api.session(queued);
    expect(session.status).toBe('Pending');
    expect(session).not.toHaveProperty('startTime');
    expect(session).not.toHaveProperty('expiryTime');
    const events = await t.api.call('GET', `/session/${queued}?view=events`);
    expect([events.status, events.type, events.body]).toEqual([
      404,
      'text/plain',
      `session ${queued} not found.\n`,
    ]);
    const logs = await t.api.call('GET', `/session/${queued}?view=logs`);
    expect([logs.status, logs.body]).toEqual([200, '']);
    const renew = await t.api.call('POST', `/session/${queued}`, { action: 'renew' });
    expect(renew.status).toBe(400);
    expect(renew.body).toMatch(new RegExp(`^No active job for user .+ with session ${queued}\\n$`));
    const listed = (await t.api.list('?type=headless')).find((s) => s.id === queued);
    expect(listed).toMatchObject({ status: 'Pending', name: 'queued' });
    expect(listed).not.toHaveProperty('startTime');

    const del = await t.api.call('DELETE', `/session/${queued}`);
    expect([del.status, del.body]).toEqual([200, '']);
    expect((await t.api.call('GET', `/session/${queued}`)).status).toBe(404);
    writeFileSync(gate, '');
    // FIFO: had the deleted session stayed in the queue, it would have run before this one.
    expect((await t.api.waitStatus(later, ['Completed'])).status).toBe('Completed');
    expect(existsSync(marker)).toBe(false);
  });
});

test('admission: interactive sessions before headless ones, FIFO within a priority', async () => {
  await withServer({ cores: 1, preemptForInteractive: false }, async (t) => {
    const gate = join(t.home, 'gate');
    const blocker = await t.api.create({
      name: 'blocker',
      image: IMAGE,
      cmd: 'sh',
      args: script(t, 'gate.sh', `while [ ! -e ${gate} ]; do sleep 0.05; done\n`),
    });
    await t.api.waitStatus(blocker, ['Running']);
    const order = script(t, 'order.sh', 'echo "$1" >> "$HOME/order"\n');
    const h1 = await t.api.create({ name: 'h1', image: IMAGE, cmd: 'sh', args: `${order} h1` });
    const h2 = await t.api.create({ name: 'h2', image: IMAGE, cmd: 'sh', args: `${order} h2` });
    // The notebook comes last, finds no room (and may not preempt here): it waits too.
    const nb = await t.api.create({ name: 'nb', image: NOTEBOOK, type: 'notebook' });
    const waiting = await t.api.session(nb);
    expect(waiting.status).toBe('Pending');
    expect(waiting).not.toHaveProperty('startTime');

    writeFileSync(gate, '');
    expect((await t.api.waitStatus(nb, ['Running'])).startTime).toBeDefined();
    // The notebook holds the only core: the headless sessions queued before it still wait.
    for (const id of [h1, h2]) {
      const s = await t.api.session(id);
      expect(s.status).toBe('Pending');
      expect(s).not.toHaveProperty('startTime');
    }
    await t.api.call('DELETE', `/session/${nb}`);
    await t.api.waitStatus(h2, ['Completed']);
    expect(readFileSync(join(t.home, 'order'), 'utf8')).toBe('h1\nh2\n');
  });
});

test('an interactive session that does not fit preempts a running headless one, which runs again from the start later', async () => {
  await withServer({ cores: 1 }, async (t) => {
    const victim = await t.api.create({
      name: 'victim',
      image: IMAGE,
      cmd: 'sh',
      args: `${recordingScript(t)} victim`,
    });
    const first = await t.api.waitStatus(victim, ['Running']);
    await waitFor('the first run', () => (runs(t, 'victim') === 'start\n' ? true : undefined));

    const nb = await t.api.create({ name: 'nb', image: NOTEBOOK, type: 'notebook' });
    await t.api.waitStatus(nb, ['Running']);
    // The notebook holds the core: the victim is queued again, with no pod.
    const requeued = await t.api.session(victim);
    expect(requeued.status).toBe('Pending');
    expect(requeued).not.toHaveProperty('startTime');
    expect((await t.api.call('GET', `/session/${victim}?view=events`)).status).toBe(404);
    expect(runs(t, 'victim')).toBe('start\nterm\n');

    await t.api.call('DELETE', `/session/${nb}`);
    const done = await t.api.waitStatus(victim, ['Completed', 'Failed']);
    expect(done.status).toBe('Completed');
    expect(Date.parse(done.startTime as string)).toBeGreaterThanOrEqual(
      Date.parse(first.startTime as string),
    );
    expect(runs(t, 'victim')).toBe('start\nterm\nstart\ndone\n');
    expect(await t.api.events(victim)).toMatch(
      new RegExp(`Warning\\s+Preempted\\s+Preempted to make room for notebook session ${nb}`),
    );
  });
});

test('preemptAfterSeconds: Running -> Pending without startTime -> Running with a new startTime, the command run again after a real SIGTERM', async () => {
  await withServer({ cores: 2, faults: { preemptAfterSeconds: 1, preemptRequeueSeconds: 2 } }, async (t) => {
    // The second run waits for this gate, opened once the test has seen it Running.
    const gate = join(t.home, 'second-run-gate');
    const id = await t.api.create({
      name: 'twice',
      image: IMAGE,
      cmd: 'sh',
      args: `${recordingScript(t, gate)} twice`,
    });
    // Every state seen, in order, with its startTime; at the Pending step, what a monitor would ask.
    const seen: { status: string; startTime?: string }[] = [];
    let whilePending: unknown;
    await waitFor(
      'the second run to complete',
      async () => {
        const s = await t.api.session(id);
        const last = seen.at(-1);
        if (!last || last.status !== s.status || last.startTime !== s.startTime)
          seen.push({ status: s.status, startTime: s.startTime as string | undefined });
        if (s.status === 'Running' && seen.some((x) => x.status === 'Pending')) writeFileSync(gate, '');
        if (
          s.status === 'Pending' &&
          whilePending === undefined &&
          seen.some((x) => x.status === 'Running')
        ) {
          whilePending = {
            events: (await t.api.call('GET', `/session/${id}?view=events`)).status,
            logs: (await t.api.call('GET', `/session/${id}?view=logs`)).body,
            renew: (await t.api.call('POST', `/session/${id}`, { action: 'renew' })).status,
          };
        }
        return s.status === 'Completed' || s.status === 'Failed' ? true : undefined;
      },
      30_000,
    );
    const compact = seen.filter((x, i) => i === 0 || x.status !== seen[i - 1].status).map((x) => x.status);
    expect(compact).toEqual(['Running', 'Pending', 'Running', 'Completed']);
    const [firstRun, pending, secondRun] = [
      seen.find((x) => x.status === 'Running')!,
      seen.find((x) => x.status === 'Pending')!,
      seen.filter((x) => x.status === 'Running').at(-1)!,
    ];
    expect(pending.startTime).toBeUndefined();
    expect(Date.parse(secondRun.startTime!)).toBeGreaterThan(Date.parse(firstRun.startTime!));
    expect(whilePending).toEqual({ events: 404, logs: '', renew: 400 });
    // The process got SIGTERM (its trap ran), then a new run started from the beginning.
    expect(runs(t, 'twice')).toBe('start\nterm\nstart\ndone\n');
    // A new pod, a new log.
    expect(await t.api.logs(id)).toBe('run 2\n');
    expect(await t.api.events(id)).toMatch(
      /Warning\s+Preempted\s+Preempted by the local server's fault injection \(preemptAfterSeconds=1\): SIGTERM to process group \d+/,
    );
    // Once only: the second run was not preempted.
    expect((await t.api.events(id)).match(/^Warning\s+Preempted\s/gm)).toHaveLength(1);
  });
});

test('LocalServer.preempt(id): a test preempts one running session on demand; it runs again after requeueSeconds', async () => {
  await withServer({ cores: 2 }, async (t) => {
    const gate = join(t.home, 'gate');
    const id = await t.api.create({
      name: 'on-demand',
      image: IMAGE,
      cmd: 'sh',
      args: `${recordingScript(t, gate)} on-demand`,
    });
    await waitFor('the first run', () => (runs(t, 'on-demand') === 'start\n' ? true : undefined));
    const queued = await t.api.create({ name: 'q', image: IMAGE, cmd: 'true', cores: '2' });
    expect(t.server.preempt(queued)).toBe(false); // not running: nothing to preempt
    expect(t.server.preempt('zzzzzzzz')).toBe(false);
    expect(t.server.preempt(id, { requeueSeconds: 30 })).toBe(true);
    const pending = await t.api.waitStatus(id, ['Pending']);
    expect(pending).not.toHaveProperty('startTime');
    expect(runs(t, 'on-demand')).toBe('start\nterm\n');
    // Held for 30 s: the 2-core session queued behind it is admitted meanwhile; then the session is
    // deleted from the queue (DELETE 200) and never runs again.
    expect((await t.api.waitStatus(queued, ['Completed'])).status).toBe('Completed');
    expect((await t.api.session(id)).status).toBe('Pending');
    expect((await t.api.call('DELETE', `/session/${id}`)).status).toBe(200);
    expect((await t.api.call('GET', `/session/${id}`)).status).toBe(404);

    const again = await t.api.create({
      name: 'again',
      image: IMAGE,
      cmd: 'sh',
      args: `${recordingScript(t, gate)} again`,
    });
    await waitFor('the first run', () => (runs(t, 'again') === 'start\n' ? true : undefined));
    expect(t.server.preempt(again)).toBe(true);
    writeFileSync(gate, '');
    expect((await t.api.waitStatus(again, ['Completed', 'Failed'])).status).toBe('Completed');
    expect(runs(t, 'again')).toBe('start\nterm\nstart\ndone\n');
    expect(await t.api.events(again)).toMatch(/Preempted on request \(LocalServer\.preempt\)/);
  });
});

test('seeded random preemption: the same seed and names give the same preemptions, as the seed plans them', async () => {
  const faults: FaultOptions = {
    preemptRate: 0.5,
    preemptWithinSeconds: 1,
    preemptMaxTimes: 2,
    preemptRequeueSeconds: 0,
    seed: 11,
  };
  const names = range(6).map((i) => `r-${i}`);
  // What the seed says, from the same function the server uses: preemptions per name.
  const injector = new FaultInjector(faults);
  const planned = names.map((name) => {
    let k = 0;
    while (injector.preemptionDelayMs(name, k + 1, k) !== undefined) k += 1;
    return k;
  });
  expect(new Set(planned).size).toBeGreaterThan(1); // a seed that preempts some, not all, so the test can fail

  const runOnce = () =>
    withServer({ cores: 8, ramGB: 64, faults }, async (t) => {
      // Each run lasts 3 s, longer than the 1 s window in which a preemption falls.
      const replica = script(
        t,
        'replica.sh',
        `f="$HOME/$1.runs"\necho start >> "$f"\ntrap 'echo term >> "$f"; exit 143' TERM\nsleep 3 & wait $!\necho done >> "$f"\n`,
      );
      const ids = [];
      for (const name of names)
        ids.push(await t.api.create({ name, image: IMAGE, cmd: 'sh', args: `${replica} ${name}` }));
      for (const id of ids)
        expect((await t.api.waitStatus(id, ['Completed', 'Failed'], 60_000)).status).toBe('Completed');
      return names.map((name) => runs(t, name));
    });
  const first = await runOnce();
  const second = await runOnce();
  expect(first).toEqual(planned.map((k) => 'start\nterm\n'.repeat(k) + 'start\ndone\n'));
  expect(second).toEqual(first);
}, 90_000);

test('views: interactive (any case, honours status, ignores type), all ({userid,type,status,startTime}); stats/all/logs/events are case-sensitive; unknown views are ignored', async () => {
  await withServer({ cores: 4 }, async (t) => {
    const headless = await t.api.create({ name: 'job', image: IMAGE, cmd: 'true' });
    await t.api.waitStatus(headless, ['Completed']);
    const nb = await t.api.create({ name: 'nb', image: NOTEBOOK, type: 'notebook' });
    const desk = await t.api.create({
      name: 'desk',
      image: 'images.canfar.net/skaha/desktop:latest',
      type: 'desktop',
    });
    const ids = async (query: string) => (await t.api.list(query)).map((s) => s.id).sort();

    expect(await ids('?view=interactive')).toEqual([nb, desk].sort());
    expect(await ids('?view=INTERACTIVE&type=headless')).toEqual([nb, desk].sort());
    expect(await ids('?view=Interactive&status=running')).toEqual([nb, desk].sort());
    expect(await ids('?view=interactive&status=Pending')).toEqual([]);

    const all = await t.api.list('?view=all');
    expect(all).toHaveLength(3);
    for (const row of all) {
      expect(Object.keys(row).sort()).toEqual(['startTime', 'status', 'type', 'userid']);
      expect(row.startTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
    expect(all.map((r) => `${r.type}:${r.status}`).sort()).toEqual([
      'desktop:Running',
      'headless:Completed',
      'notebook:Running',
    ]);

    // Case-sensitive views fall back to the plain list of full sessions; so does an unknown view.
    for (const view of ['ALL', 'Stats', 'spaceship'])
      expect(await ids(`?view=${view}`)).toEqual([headless, nb, desk].sort());
    expect(JSON.parse((await t.api.call('GET', '/session?view=stats')).body)).toHaveProperty('cores');
    expect((await t.api.session(headless)).id).toBe(headless);
    for (const view of ['LOGS', 'Events']) {
      const res = await t.api.call('GET', `/session/${headless}?view=${view}`);
      expect([res.status, res.type, JSON.parse(res.body).id]).toEqual([200, 'application/json', headless]);
    }
  });
});

test('ids that break label syntax: 400 on GET, events and renew, 200 on DELETE; names: leading "-" 400, trailing "-" or over 63 characters 500', async () => {
  await withServer({}, async (t) => {
    for (const id of ['-bad', 'bad-', 'a_', 'x'.repeat(64)]) {
      const path = `/session/${encodeURIComponent(id)}`;
      const get = await t.api.call('GET', path);
      expect([id, get.status, get.type]).toEqual([id, 400, 'text/plain']);
      expect(get.body).toMatch(/^invalid session id .*a valid label must/);
      expect((await t.api.call('GET', `${path}?view=events`)).status).toBe(400);
      expect((await t.api.call('POST', path, { action: 'renew' })).status).toBe(400);
      expect((await t.api.call('DELETE', path)).status).toBe(200);
      expect((await t.api.call('GET', `${path}?view=logs`)).body).toBe('');
    }

    const before = (await t.api.list()).length;
    const post = (name: string) => t.api.call('POST', '/session', { name, image: IMAGE, cmd: 'true' });
    const blank = await post('-lead');
    expect([blank.status, blank.body]).toEqual([400, 'canfar.net/name label value cannot be blank\n']);
    const trailing = await post('trail-');
    expect([trailing.status, trailing.type]).toEqual([500, 'text/plain']);
    expect(trailing.body).toContain('pod hostname "trail-" is invalid');
    expect((await post('n'.repeat(64))).status).toBe(500);
    expect(await post('bad_name')).toMatchObject({
      status: 400,
      body: "name can only contain alpha-numeric chars and '-'\n",
    });
    expect((await t.api.list()).length).toBe(before);
    // 63 characters is fine, stored lower-cased.
    const ok = await t.api.create({ name: `A${'b'.repeat(62)}`, image: IMAGE, cmd: 'true' });
    expect((await t.api.session(ok)).name).toBe(`a${'b'.repeat(62)}`);
  });
});
