/** Fault injection of the local server: off by default, each fault does what its name says, reproducibly. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { FAULTS_ENV, type FaultOptions } from '../src/node/local';
import { IMAGE, startTestServer } from './helpers/local';

async function withFaults<T>(
  faults: FaultOptions,
  body: (t: Awaited<ReturnType<typeof startTestServer>>) => Promise<T>,
): Promise<T> {
  const t = await startTestServer({ faults });
  try {
    return await body(t);
  } finally {
    await t.dispose();
  }
}

test('unavailableRate: 503 text/plain with Retry-After, and nothing is created', async () => {
  await withFaults({ unavailableRate: 1, retryAfterSeconds: 7 }, async (t) => {
    const res = await t.api.call('POST', '/session', { name: 'x', image: IMAGE, cmd: 'true' });
    expect([res.status, res.type, res.headers.get('retry-after')]).toEqual([503, 'text/plain', '7']);
    expect(res.body).toContain('injected fault: unavailableRate');
    expect(readdirSync(join(t.server.stateDir, 'sessions'))).toEqual([]);
  });
});

test('serverErrorRate: 500; dropRate: the connection closes without an answer', async () => {
  await withFaults({ serverErrorRate: 1 }, async (t) => {
    const res = await t.api.call('GET', '/context');
    expect([res.status, res.body]).toEqual([
      500,
      'Internal server error (injected fault: serverErrorRate)\n',
    ]);
  });
  await withFaults({ dropRate: 1 }, async (t) => {
    await expect(t.api.call('POST', '/session', { name: 'x', image: IMAGE, cmd: 'true' })).rejects.toThrow(
      /fetch failed/,
    );
  });
});

test('createThenFailRate: the session IS created, then the answer is a 500 or never comes; listing finds it', async () => {
  await withFaults({ createThenFailRate: 1, seed: 3, pathIncludes: '/session' }, async (t) => {
    const outcomes: string[] = [];
    for (let i = 1; i <= 8; i += 1) {
      try {
        const res = await t.api.call('POST', '/session', { name: `ghost-${i}`, image: IMAGE, cmd: 'true' });
        outcomes.push(String(res.status));
      } catch {
        outcomes.push('dropped');
      }
    }
    expect(new Set(outcomes)).toEqual(new Set(['500', 'dropped']));
    // GET is not a create: listing is the reconciliation path and works.
    const names = (await t.api.list()).map((s) => s.name).sort();
    expect(names).toEqual(Array.from({ length: 8 }, (_, i) => `ghost-${i + 1}`).sort());
  });
});

test('the seed makes the fault sequence reproducible; pathIncludes limits faults to matching paths', async () => {
  const sequence = () =>
    withFaults({ unavailableRate: 0.5, seed: 42, pathIncludes: '/image' }, async (t) => {
      const statuses: number[] = [];
      for (let i = 0; i < 20; i += 1) statuses.push((await t.api.call('GET', '/image')).status);
      expect((await t.api.call('GET', '/context')).status).toBe(200);
      return statuses;
    });
  const a = await sequence();
  expect(await sequence()).toEqual(a);
  expect(new Set(a)).toEqual(new Set([200, 503]));
});

test('latencyMs delays every answer by at least that much', async () => {
  await withFaults({ latencyMs: 150 }, async (t) => {
    const start = performance.now();
    expect((await t.api.call('GET', '/repository')).status).toBe(200);
    expect(performance.now() - start).toBeGreaterThanOrEqual(140);
  });
});

test(`${FAULTS_ENV} configures faults from the environment; bad values are refused with the reason`, async () => {
  const saved = process.env[FAULTS_ENV];
  try {
    process.env[FAULTS_ENV] = JSON.stringify({ serverErrorRate: 1 });
    const t = await startTestServer();
    try {
      expect((await t.api.call('GET', '/context')).status).toBe(500);
    } finally {
      await t.dispose();
    }
    process.env[FAULTS_ENV] = '{oops';
    await expect(startTestServer()).rejects.toThrow(`${FAULTS_ENV} is not valid JSON`);
    process.env[FAULTS_ENV] = JSON.stringify({ dropRatio: 0.5 });
    await expect(startTestServer()).rejects.toThrow(`${FAULTS_ENV}: unknown fault "dropRatio"`);
    process.env[FAULTS_ENV] = JSON.stringify({ dropRate: 2 });
    await expect(startTestServer()).rejects.toThrow('dropRate must be a number between 0 and 1, got 2');
  } finally {
    if (saved === undefined) delete process.env[FAULTS_ENV];
    else process.env[FAULTS_ENV] = saved;
  }
});

test('no faults by default: 50 calls, all 200', async () => {
  const t = await startTestServer();
  try {
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () => t.api.call('GET', '/context').then((r) => r.status)),
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  } finally {
    await t.dispose();
  }
});
