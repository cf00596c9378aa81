/**
 * createReplicas against an in-memory Skaha (a Transport function) that injects the failures a real network
 * and service produce: a POST that creates the session and then loses the answer, 503 with Retry-After,
 * 500/502 after creating, connection refused, timeouts that created nothing, failing listings. Over many
 * seeded random runs: no replica is created twice, and every created session is reported (or the outcome
 * says its fate is uncertain).
 */
import {
  createReplicas,
  type ReplicaOutcome,
  SkahaClient,
  SkahaTransportError,
  type Transport,
  type TransportResponse,
} from './index';
import { seededRandom } from './random';

type Fault =
  | 'ok'
  | 'create-then-drop' // created, then the connection dropped: sent=true
  | 'refused' // never reached the service: sent=false
  | 'timeout-nothing' // sent=true, but nothing was created
  | '503' // refused, with Retry-After
  | '500-after-create'
  | '502-after-create'
  | '500-nothing'
  | '400';

interface FakeSession {
  id: string;
  name: string;
  type: string;
  env: string[];
}

const reply = (status: number, body: string, headers: Record<string, string> = {}): TransportResponse => ({
  status,
  headers: { get: (name) => headers[name.toLowerCase()] ?? null },
  text: async () => body,
});

/** An in-memory Skaha: `postFault()` decides each POST's fate, `listFails()` each listing's. */
function fakeSkaha(options: {
  postFault: () => Fault;
  listFails?: () => boolean;
  random: () => number;
  existing?: FakeSession[];
}) {
  const sessions: FakeSession[] = [...(options.existing ?? [])];
  let counter = 0;
  let posts = 0;
  let lists = 0;
  const yieldSome = async () => {
    // Interleave the concurrent requests differently in each run.
    for (let i = Math.floor(options.random() * 4); i > 0; i--) await Promise.resolve();
  };
  const create = (body: string) => {
    const form = new URLSearchParams(body);
    const session = {
      id: `s${(counter++).toString(36).padStart(7, '0')}`,
      name: (form.get('name') ?? '').toLowerCase().slice(0, 63),
      type: form.get('type') ?? 'headless',
      env: form.getAll('env'),
    };
    sessions.push(session);
    return session;
  };
  const transport: Transport = async (request) => {
    await yieldSome();
    const url = new URL(request.url);
    if (request.method === 'GET' && url.pathname.endsWith('/session')) {
      lists += 1;
      if (options.listFails?.()) return reply(503, 'list unavailable', { 'retry-after': '1' });
      const type = url.searchParams.get('type');
      const mine = sessions.filter((s) => !type || s.type === type);
      return reply(
        200,
        JSON.stringify(
          mine.map((s) => ({ id: s.id, name: s.name, type: s.type, status: 'Pending', image: 'i/x' })),
        ),
      );
    }
    if (request.method === 'POST' && url.pathname.endsWith('/session')) {
      posts += 1;
      const fault = options.postFault();
      switch (fault) {
        case 'ok':
          return reply(200, `${create(request.body!).id}\n`);
        case 'create-then-drop':
          create(request.body!);
          await yieldSome();
          throw new SkahaTransportError('socket hang up', { sent: true });
        case 'refused':
          throw new SkahaTransportError('connect ECONNREFUSED 127.0.0.1:1', { sent: false });
        case 'timeout-nothing':
          throw new SkahaTransportError('request timed out after 30 s', { sent: true });
        case '503':
          return reply(503, 'too busy', { 'retry-after': '2' });
        case '500-after-create':
          create(request.body!);
          return reply(500, 'error writing to storage');
        case '502-after-create':
          create(request.body!);
          return reply(502, '<html><title>502 Bad Gateway</title></html>');
        case '500-nothing':
          return reply(500, 'internal error');
        case '400':
          return reply(400, "Invalid value for 'cores': 3");
      }
    }
    return reply(404, 'no route');
  };
  return {
    client: new SkahaClient({ baseUrl: 'http://skaha.test/skaha/v1', transport }),
    sessions,
    counts: () => ({ posts, lists }),
  };
}

const spec = { name: 'Sweep', image: 'images.canfar.net/skaha/astroml:latest', env: { MODE: 'fast' } };
const noSleep = async () => {};

/**
 * The invariants a user relies on, checked on one run; returns what is wrong (plain checks, then one expect
 * per run: jest's matchers are too slow to call thousands of times).
 */
function runProblems(
  n: number,
  outcomes: ReplicaOutcome[],
  sessions: FakeSession[],
  existingIds: Set<string>,
  ids: number[] = Array.from({ length: n }, (_, i) => i + 1),
): string[] {
  const problems: string[] = [];
  if (outcomes.length !== ids.length) problems.push(`${outcomes.length} outcomes for ${ids.length} replicas`);
  const created = sessions.filter((s) => !existingIds.has(s.id));
  const byName = new Map<string, FakeSession[]>();
  for (const s of created) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
  // No duplicates: at most one session per replica name.
  for (const [name, list] of byName)
    if (list.length > 1) problems.push(`${name} created ${list.length} times`);
  // Only the requested replicas were created.
  const wanted = new Set(ids.map((id) => (n === 1 ? 'sweep' : `sweep-${id}`)));
  for (const name of byName.keys()) if (!wanted.has(name)) problems.push(`${name} was not requested`);
  for (const [i, id] of ids.entries()) {
    const o = outcomes[i];
    const name = n === 1 ? 'Sweep' : `Sweep-${id}`;
    if (!o || o.replica !== id || o.name !== name) {
      problems.push(`outcome ${i} is ${JSON.stringify(o)}, expected replica ${id} named ${name}`);
      continue;
    }
    const made = byName.get(name.toLowerCase())?.[0];
    if (o.ok) {
      // Every success is a real session of that replica, with its replica number.
      if (made?.id !== o.sessionId)
        problems.push(`${name}: reported ${o.sessionId}, the service has ${made?.id}`);
      const env = JSON.stringify(made?.env);
      if (env !== JSON.stringify(['MODE=fast', `REPLICA_ID=${id}`, `REPLICA_COUNT=${n}`]))
        problems.push(`${name}: env ${env}`);
    } else if (o.code !== 'uncertain') {
      // No missing replica: a failure means nothing was created for it.
      if (made) problems.push(`${name}: reported ${o.code} (${o.message}) but session ${made.id} exists`);
      if (o.message.length < 10)
        problems.push(`${name}: message ${JSON.stringify(o.message)} says too little`);
    }
  }
  return problems;
}

function checkRun(
  n: number,
  outcomes: ReplicaOutcome[],
  sessions: FakeSession[],
  existingIds: Set<string>,
  ids?: number[],
): void {
  expect(runProblems(n, outcomes, sessions, existingIds, ids)).toEqual([]);
}

test('the happy path: n sessions, named <name>-<i>, bare name for n = 1, one outcome each', async () => {
  const random = seededRandom(1);
  for (const n of [1, 5]) {
    const fake = fakeSkaha({ postFault: () => 'ok', random });
    const seen: number[] = [];
    const outcomes = await createReplicas(fake.client, spec, n, { onOutcome: (o) => seen.push(o.replica) });
    checkRun(n, outcomes, fake.sessions, new Set());
    expect(outcomes.every((o) => o.ok && o.attempts === 1)).toBe(true);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(fake.counts()).toEqual({ posts: n, lists: 1 });
  }
});

test('a POST that created the session and lost the answer is reconciled, not sent again', async () => {
  const faults: Fault[] = ['create-then-drop', 'ok'];
  const fake = fakeSkaha({ postFault: () => faults.shift() ?? 'ok', random: seededRandom(2) });
  const outcomes = await createReplicas(fake.client, spec, 2, { concurrency: 1, sleep: noSleep });
  expect(outcomes[0]).toEqual({
    replica: 1,
    name: 'Sweep-1',
    ok: true,
    sessionId: fake.sessions[0].id,
    attempts: 1,
    reconciled: true,
  });
  expect(fake.counts().posts).toBe(2);
  checkRun(2, outcomes, fake.sessions, new Set());
});

test('503 waits as the service asks (capped) then is checked by listing; connection refused is retried without listing', async () => {
  const faults: Fault[] = ['503', 'refused', 'ok'];
  const fake = fakeSkaha({ postFault: () => faults.shift() ?? 'ok', random: () => 0.5 });
  const waits: number[] = [];
  const outcomes = await createReplicas(fake.client, spec, 1, {
    sleep: async (ms) => void waits.push(ms),
    random: () => 0.5,
    retryDelayMs: 100,
    maxRetryDelayMs: 1500,
  });
  expect(outcomes[0]).toMatchObject({ ok: true, attempts: 3 });
  expect(outcomes[0]).not.toHaveProperty('reconciled');
  // Retry-After: 2 s, capped at 1.5 s; then exponential backoff 100 * 2 * (0.5 + 0.5).
  expect(waits).toEqual([1500, 200]);
  // One listing before the launch, one after the 503 (a 5xx may come after the work was done), none after
  // the refused connection (it never reached the service).
  expect(fake.counts()).toEqual({ posts: 3, lists: 2 });
});

test('a 500 after creating is found by listing; a 500 that created nothing is reported with its text', async () => {
  const faults: Fault[] = ['500-after-create', '500-nothing'];
  const fake = fakeSkaha({ postFault: () => faults.shift() ?? 'ok', random: seededRandom(3) });
  const outcomes = await createReplicas(fake.client, spec, 2, { concurrency: 1, sleep: noSleep });
  expect(outcomes[0]).toMatchObject({ ok: true, reconciled: true, attempts: 1 });
  expect(outcomes[1]).toEqual({
    replica: 2,
    name: 'Sweep-2',
    ok: false,
    status: 500,
    code: 'server-error',
    message: 'create session "Sweep-2" failed with HTTP 500: internal error',
    attempts: 1,
  });
  checkRun(2, outcomes, fake.sessions, new Set());
});

test('a 400 is not retried and keeps the service message', async () => {
  const fake = fakeSkaha({ postFault: () => '400', random: seededRandom(4) });
  const [outcome] = await createReplicas(fake.client, spec, 1, { sleep: noSleep });
  expect(outcome).toMatchObject({ ok: false, status: 400, code: 'bad-request', attempts: 1 });
  expect(outcome.ok || outcome.message).toBe(
    `create session "Sweep" failed with HTTP 400: Invalid value for 'cores': 3`,
  );
});

test('an older session with the same name is never taken for a lost replica', async () => {
  const old = { id: 'old00001', name: 'sweep-1', type: 'headless', env: [] };
  const faults: Fault[] = ['timeout-nothing', 'timeout-nothing'];
  const fake = fakeSkaha({
    postFault: () => faults.shift() ?? 'ok',
    random: seededRandom(5),
    existing: [old],
  });
  const outcomes = await createReplicas(fake.client, spec, 2, { concurrency: 1, sleep: noSleep, retries: 1 });
  expect(outcomes[0]).toMatchObject({ ok: false, code: 'transport', attempts: 2 });
  checkRun(2, outcomes, fake.sessions, new Set([old.id]));
  // existing: 'fail' refuses to launch under a taken name.
  const strict = fakeSkaha({ postFault: () => 'ok', random: seededRandom(6), existing: [old] });
  const refused = await createReplicas(strict.client, spec, 2, { existing: 'fail' });
  expect(refused[0]).toMatchObject({ ok: false, code: 'name-taken', attempts: 0 });
  expect(refused[1]).toMatchObject({ ok: true });
});

test('when the check listing fails the replica is reported uncertain, not retried', async () => {
  let listings = 0;
  const fake = fakeSkaha({
    postFault: () => 'create-then-drop',
    listFails: () => listings++ > 0,
    random: seededRandom(7),
  });
  const [outcome] = await createReplicas(fake.client, spec, 1, { sleep: noSleep });
  expect(outcome).toMatchObject({ ok: false, code: 'uncertain', attempts: 1 });
  expect(outcome.ok || outcome.message).toMatch(
    /socket hang up; the session may exist, and listing sessions to check failed: .*list unavailable/,
  );
  expect(fake.counts().posts).toBe(1);
});

test('nothing is launched when the sessions cannot be listed first', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', listFails: () => true, random: seededRandom(8) });
  const outcomes = await createReplicas(fake.client, spec, 3);
  expect(outcomes.map((o) => [o.ok, o.ok ? '' : o.code])).toEqual([
    [false, 'unavailable'],
    [false, 'unavailable'],
    [false, 'unavailable'],
  ]);
  expect(fake.counts().posts).toBe(0);
});

test('abort stops launching: the rest are cancelled, those in flight finish', async () => {
  const controller = new AbortController();
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(9) });
  const outcomes = await createReplicas(fake.client, spec, 10, {
    concurrency: 2,
    signal: controller.signal,
    onOutcome: (o) => {
      if (o.replica === 3) controller.abort();
    },
  });
  const launched = outcomes.filter((o) => o.ok).length;
  expect(launched).toBeGreaterThanOrEqual(3);
  expect(launched).toBeLessThan(10);
  expect(
    outcomes.filter((o) => !o.ok).every((o) => !o.ok && o.code === 'cancelled' && o.attempts === 0),
  ).toBe(true);
  checkRun(10, outcomes, fake.sessions, new Set());
});

test('invalid input is refused before anything is sent', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(10) });
  await expect(createReplicas(fake.client, spec, 513)).rejects.toMatchObject({ code: 'invalid-input' });
  await expect(createReplicas(fake.client, { ...spec, name: 'x'.repeat(62) }, 10)).rejects.toThrow(
    /too long for 10 replicas/,
  );
  expect(fake.counts()).toEqual({ posts: 0, lists: 0 });
});

test('300 seeded random runs with every fault: no duplicate, no missing replica, one outcome each', async () => {
  const faults: Fault[] = [
    'create-then-drop',
    'refused',
    'timeout-nothing',
    '503',
    '500-after-create',
    '502-after-create',
    '500-nothing',
  ];
  const totals = { ok: 0, reconciled: 0, failed: 0, uncertain: 0 };
  for (let seed = 1; seed <= 300; seed++) {
    const random = seededRandom(seed);
    const faultRate = random() * 0.6;
    const n = 1 + Math.floor(random() * 40);
    const existing =
      random() < 0.3
        ? [{ id: 'old00001', name: `sweep-${1 + Math.floor(random() * n)}`, type: 'headless', env: [] }]
        : [];
    const fake = fakeSkaha({
      random,
      existing,
      postFault: () => (random() < faultRate ? faults[Math.floor(random() * faults.length)] : 'ok'),
      listFails: () => random() < 0.03,
    });
    const outcomes = await createReplicas(fake.client, spec, n, {
      concurrency: 1 + Math.floor(random() * 8),
      retries: Math.floor(random() * 4),
      sleep: noSleep,
    });
    const problems = runProblems(n, outcomes, fake.sessions, new Set(existing.map((s) => s.id)));
    if (problems.length > 0) throw new Error(`seed ${seed}, n=${n}:\n${problems.join('\n')}`);
    for (const o of outcomes) {
      if (o.ok) totals[o.reconciled ? 'reconciled' : 'ok'] += 1;
      else totals[o.code === 'uncertain' ? 'uncertain' : 'failed'] += 1;
    }
  }
  // The runs must have exercised every path.
  expect(totals.ok).toBeGreaterThan(1000);
  expect(totals.reconciled).toBeGreaterThan(50);
  expect(totals.failed).toBeGreaterThan(20);
  expect(totals.uncertain).toBeGreaterThan(0);
});

test('baseline: no listing before the launch, and a namesake in the baseline is never taken for a replica', async () => {
  const old = { id: 'old00001', name: 'sweep-1', type: 'headless', env: [] };
  const listed = {
    id: old.id,
    name: old.name,
    type: 'headless' as const,
    status: 'Running' as const,
    image: 'i/x',
    raw: {},
  };
  // Happy path: n POSTs and not one listing.
  const quick = fakeSkaha({ postFault: () => 'ok', random: seededRandom(11) });
  const fine = await createReplicas(quick.client, spec, 4, { baseline: [] });
  checkRun(4, fine, quick.sessions, new Set());
  expect(quick.counts()).toEqual({ posts: 4, lists: 0 });

  // A POST whose fate is unknown and that created nothing: the check listing shows only the older
  // namesake, which the baseline names, so the replica is retried and then reported failed, not "found".
  const faults: Fault[] = ['timeout-nothing', 'timeout-nothing'];
  const fake = fakeSkaha({
    postFault: () => faults.shift() ?? 'ok',
    random: seededRandom(12),
    existing: [old],
  });
  const outcomes = await createReplicas(fake.client, spec, 2, {
    baseline: [listed],
    concurrency: 1,
    sleep: noSleep,
    retries: 1,
  });
  expect(outcomes[0]).toMatchObject({ ok: false, code: 'transport', attempts: 2 });
  checkRun(2, outcomes, fake.sessions, new Set([old.id]));
  // Only the reconciliation listings ran (one per unknown fate), none before the launch.
  expect(fake.counts()).toEqual({ posts: 3, lists: 2 });

  // existing: 'fail' judges names by the baseline too.
  const strict = fakeSkaha({ postFault: () => 'ok', random: seededRandom(13), existing: [old] });
  const refused = await createReplicas(strict.client, spec, 2, { baseline: [listed], existing: 'fail' });
  expect(refused.map((o) => (o.ok ? 'ok' : o.code))).toEqual(['name-taken', 'ok']);
  expect(strict.counts()).toEqual({ posts: 1, lists: 0 });
});

test('baseline: a lost POST is still reconciled, and a service that cannot list no longer blocks the launch', async () => {
  const faults: Fault[] = ['create-then-drop', 'ok'];
  const fake = fakeSkaha({ postFault: () => faults.shift() ?? 'ok', random: seededRandom(14) });
  const outcomes = await createReplicas(fake.client, spec, 2, {
    baseline: [],
    concurrency: 1,
    sleep: noSleep,
  });
  expect(outcomes[0]).toMatchObject({ ok: true, reconciled: true, sessionId: fake.sessions[0].id });
  checkRun(2, outcomes, fake.sessions, new Set());
  expect(fake.counts()).toEqual({ posts: 2, lists: 1 });

  // Without a baseline every replica would be 'unavailable' here (see 'nothing is launched when ...').
  const unlisted = fakeSkaha({ postFault: () => 'ok', listFails: () => true, random: seededRandom(20) });
  const launched = await createReplicas(unlisted.client, spec, 3, { baseline: [] });
  checkRun(3, launched, unlisted.sessions, new Set());
  expect(unlisted.counts()).toEqual({ posts: 3, lists: 0 });
});

test('ids: only the requested replicas, with their full-set names and env, one outcome each in the order given', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(15) });
  const seen: number[] = [];
  const outcomes = await createReplicas(fake.client, spec, 6, {
    ids: [5, 2, 6],
    onOutcome: (o) => seen.push(o.replica),
  });
  expect(outcomes.map((o) => [o.replica, o.name, o.ok])).toEqual([
    [5, 'Sweep-5', true],
    [2, 'Sweep-2', true],
    [6, 'Sweep-6', true],
  ]);
  expect(fake.sessions.map((s) => [s.name, s.env]).sort()).toEqual([
    ['sweep-2', ['MODE=fast', 'REPLICA_ID=2', 'REPLICA_COUNT=6']],
    ['sweep-5', ['MODE=fast', 'REPLICA_ID=5', 'REPLICA_COUNT=6']],
    ['sweep-6', ['MODE=fast', 'REPLICA_ID=6', 'REPLICA_COUNT=6']],
  ]);
  expect(seen.sort()).toEqual([2, 5, 6]);
  checkRun(6, outcomes, fake.sessions, new Set(), [5, 2, 6]);
  expect(fake.counts()).toEqual({ posts: 3, lists: 1 });

  // n = 1 keeps the bare name.
  const single = fakeSkaha({ postFault: () => 'ok', random: seededRandom(16) });
  const [one] = await createReplicas(single.client, spec, 1, { ids: [1] });
  expect(one).toMatchObject({ replica: 1, name: 'Sweep', ok: true });
});

test('ids: faults are reconciled per replica id; aborting cancels the rest under their own ids', async () => {
  const faults: Fault[] = ['create-then-drop', '500-nothing'];
  const fake = fakeSkaha({ postFault: () => faults.shift() ?? 'ok', random: seededRandom(17) });
  const outcomes = await createReplicas(fake.client, spec, 9, {
    ids: [7, 3],
    concurrency: 1,
    sleep: noSleep,
  });
  expect(outcomes[0]).toEqual({
    replica: 7,
    name: 'Sweep-7',
    ok: true,
    sessionId: fake.sessions[0].id,
    attempts: 1,
    reconciled: true,
  });
  expect(outcomes[1]).toMatchObject({ replica: 3, name: 'Sweep-3', ok: false, status: 500, attempts: 1 });
  checkRun(9, outcomes, fake.sessions, new Set(), [7, 3]);

  const controller = new AbortController();
  const aborted = fakeSkaha({ postFault: () => 'ok', random: seededRandom(18) });
  const partial = await createReplicas(aborted.client, spec, 10, {
    ids: [10, 8, 6, 4],
    concurrency: 1,
    signal: controller.signal,
    onOutcome: (o) => {
      if (o.replica === 8) controller.abort();
    },
  });
  expect(partial.map((o) => [o.replica, o.ok ? 'ok' : o.code])).toEqual([
    [10, 'ok'],
    [8, 'ok'],
    [6, 'cancelled'],
    [4, 'cancelled'],
  ]);
  expect(partial[2]).toMatchObject({ name: 'Sweep-6', attempts: 0 });
});

test('ids: out of range, fractional or repeated ids (and a baseline that is not a list) are refused before anything is sent; none launches nothing', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(19) });
  await expect(createReplicas(fake.client, spec, 4, { ids: [0, 2, 5] })).rejects.toThrow(
    'ids 0, 5 out of range: each replica id must be a whole number in 1..4',
  );
  await expect(createReplicas(fake.client, spec, 4, { ids: [1.5] })).rejects.toMatchObject({
    code: 'invalid-input',
    message: 'ids 1.5 out of range: each replica id must be a whole number in 1..4',
  });
  await expect(createReplicas(fake.client, spec, 4, { ids: [3, 1, 3] })).rejects.toThrow(
    'ids 3 requested more than once: a replica is launched at most once per call',
  );
  expect(await createReplicas(fake.client, spec, 4, { ids: [] })).toEqual([]);
  await expect(
    createReplicas(fake.client, spec, 4, { baseline: { sessions: [] } as unknown as [] }),
  ).rejects.toThrow('baseline must be the sessions listed before the launch (an array), not {"sessions":[]}');
  expect(fake.counts()).toEqual({ posts: 0, lists: 0 });
});

test('200 seeded random runs with ids and a baseline: no duplicate, no missing replica, nothing unrequested', async () => {
  const faults: Fault[] = [
    'create-then-drop',
    'refused',
    'timeout-nothing',
    '503',
    '500-after-create',
    '502-after-create',
    '500-nothing',
  ];
  const totals = { ok: 0, reconciled: 0, failed: 0 };
  for (let seed = 1; seed <= 200; seed++) {
    const random = seededRandom(1000 + seed);
    const faultRate = random() * 0.6;
    const n = 1 + Math.floor(random() * 40);
    // A random subset of the ids, in random order.
    const ids = Array.from({ length: n }, (_, i) => i + 1)
      .filter(() => random() < 0.5)
      .sort(() => random() - 0.5);
    if (ids.length === 0) ids.push(n);
    // An older namesake of a requested replica, in the baseline (the caller's fresh listing).
    const existing =
      random() < 0.5
        ? [{ id: 'old00001', name: n === 1 ? 'sweep' : `sweep-${ids[0]}`, type: 'headless', env: [] }]
        : [];
    const baseline = existing.map((s) => ({
      ...s,
      type: 'headless' as const,
      status: 'Running' as const,
      image: 'i/x',
      raw: {},
    }));
    const fake = fakeSkaha({
      random,
      existing,
      postFault: () => (random() < faultRate ? faults[Math.floor(random() * faults.length)] : 'ok'),
      listFails: () => random() < 0.03,
    });
    const outcomes = await createReplicas(fake.client, spec, n, {
      ids,
      ...(random() < 0.5 ? { baseline } : {}),
      concurrency: 1 + Math.floor(random() * 8),
      retries: Math.floor(random() * 4),
      sleep: noSleep,
    });
    const problems = runProblems(n, outcomes, fake.sessions, new Set(existing.map((s) => s.id)), ids);
    if (problems.length > 0)
      throw new Error(`seed ${seed}, n=${n}, ids=${ids.join(',')}:\n${problems.join('\n')}`);
    for (const o of outcomes) {
      if (o.ok) totals[o.reconciled ? 'reconciled' : 'ok'] += 1;
      else if (o.code !== 'uncertain') totals.failed += 1;
    }
  }
  expect(totals.ok).toBeGreaterThan(500);
  expect(totals.reconciled).toBeGreaterThan(20);
  expect(totals.failed).toBeGreaterThan(10);
});

// A sweep's replicas: `<name>-<set>-<shard>`, REPLICA_ID = shard, and each set's own env.
const sweepReplica = (id: number) => {
  const set = Math.ceil(id / 2);
  const shard = ((id - 1) % 2) + 1;
  return {
    name: `Sweep-${set}-${shard}`,
    env: {
      REPLICA_ID: String(shard),
      REPLICA_COUNT: '2',
      CANFAR_BATCH_REPLICA_ID: String(id),
      SET: String(set),
    },
  };
};

test('replica: each replica its own name and env (replacing REPLICA_ID/REPLICA_COUNT), one outcome each', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(7) });
  const outcomes = await createReplicas(fake.client, spec, 6, { replica: sweepReplica });
  expect(outcomes.map((o) => [o.replica, o.name, o.ok])).toEqual([
    [1, 'Sweep-1-1', true],
    [2, 'Sweep-1-2', true],
    [3, 'Sweep-2-1', true],
    [4, 'Sweep-2-2', true],
    [5, 'Sweep-3-1', true],
    [6, 'Sweep-3-2', true],
  ]);
  expect(fake.sessions.find((s) => s.name === 'sweep-2-2')?.env).toEqual([
    'MODE=fast',
    'REPLICA_ID=2',
    'REPLICA_COUNT=2',
    'CANFAR_BATCH_REPLICA_ID=4',
    'SET=2',
  ]);
});

test('replica: repeated names, invalid names and env values the service drops are refused before anything is sent', async () => {
  const fake = fakeSkaha({ postFault: () => 'ok', random: seededRandom(8) });
  const refused = (replica: (id: number) => { name: string; env?: Record<string, string> }) =>
    createReplicas(fake.client, spec, 3, { replica }).then(
      () => 'launched',
      (error: Error) => error.message,
    );
  expect(await refused(() => ({ name: 'same' }))).toMatch(/replicas 1 and 2 are both named "same"/);
  expect(await refused((id) => ({ name: `bad_${id}` }))).toMatch(/replica 1: name "bad_1" contains "_"/);
  expect(await refused((id) => ({ name: `x-${id}`, env: { P: 'a=b' } }))).toMatch(
    /replica 1: env P="a=b" contains "="/,
  );
  expect(fake.counts().posts).toBe(0);
});

test('replica: 100 seeded runs with every fault and sweep names: no duplicate, no missing replica', async () => {
  const faults: Fault[] = [
    'create-then-drop',
    'refused',
    'timeout-nothing',
    '503',
    '500-after-create',
    '500-nothing',
  ];
  for (let seed = 1; seed <= 100; seed++) {
    const random = seededRandom(1000 + seed);
    const n = 2 * (1 + Math.floor(random() * 10));
    const fake = fakeSkaha({
      random,
      postFault: () => (random() < 0.4 ? faults[Math.floor(random() * faults.length)] : 'ok'),
      listFails: () => random() < 0.03,
    });
    const outcomes = await createReplicas(fake.client, spec, n, {
      replica: sweepReplica,
      concurrency: 1 + Math.floor(random() * 6),
      retries: Math.floor(random() * 4),
      sleep: noSleep,
    });
    const byName = new Map<string, number>();
    for (const s of fake.sessions) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
    const problems = [...byName].filter(([, k]) => k > 1).map(([name, k]) => `${name} created ${k} times`);
    for (const o of outcomes) {
      const made = fake.sessions.find((s) => s.name === sweepReplica(o.replica).name.toLowerCase());
      if (o.ok && made?.id !== o.sessionId)
        problems.push(`${o.name}: reported ${o.sessionId}, made ${made?.id}`);
      if (!o.ok && o.code !== 'uncertain' && made)
        problems.push(`${o.name}: reported ${o.code} but ${made.id} exists`);
    }
    if (outcomes.length !== n) problems.push(`${outcomes.length} outcomes for ${n}`);
    if (problems.length > 0) throw new Error(`seed ${seed}, n=${n}:\n${problems.join('\n')}`);
  }
});
