import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkahaError, type SkahaClient } from '../skaha';
import { hasOpenssl, makePki, type Pki } from '../../test/helpers/pki';
import { connect, type Connection } from './connect';
import { startLocalServer } from './local';
import type { LocalServer } from './local';

// Every SkahaClient call through the Node transport, over real HTTP, against the local Skaha-compatible
// server: the same code path the CLI and scripts use.
const IMAGE = 'images.canfar.net/skaha/terminal:1.1.2';

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function rejection(promise: Promise<unknown>): Promise<SkahaError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SkahaError);
  return error as SkahaError;
}

describe('SkahaClient over the Node transport, against the local server', () => {
  let stateDir: string;
  let server: LocalServer;
  let connection: Connection;
  let client: SkahaClient;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'canfar-client-'));
    server = await startLocalServer({ stateDir, ttlSeconds: 3600, cores: 8, ramGB: 16 });
    connection = await connect({ url: server.url, token: server.token, env: {} });
    client = connection.client;
  });
  afterAll(async () => {
    await connection?.close();
    await server?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('resolves the base URL with /v1 and reports the explicit token as the credential', () => {
    expect(connection.baseUrl).toBe(server.apiUrl);
    expect(connection.credentials).toEqual({ kind: 'token', source: 'token option', token: server.token });
    expect(connection.endpoint).toBe('custom');
  });

  it('create, list (with filters), get, logs, events, renew, delete', async () => {
    const id = await client.create({
      name: 'hello',
      image: IMAGE,
      cmd: 'echo',
      args: ['hello-from-replica'],
    });
    expect(id).toMatch(/^[a-z][a-z0-9]{7}$/);

    const done = await until('the session to complete', async () => {
      const session = await client.get(id);
      return session.status === 'Completed' ? session : undefined;
    });
    expect(done).toMatchObject({ id, name: 'hello', image: IMAGE, type: 'headless', status: 'Completed' });

    expect((await client.list()).map((s) => s.id)).toContain(id);
    expect((await client.list({ type: 'headless', status: 'Completed' })).map((s) => s.id)).toContain(id);
    expect(await client.list({ type: 'notebook' })).toEqual([]);
    // Views: the interactive sessions (none yet), and every user's sessions in the short form.
    expect(await client.list({ view: 'interactive' })).toEqual([]);
    const everyone = await client.listAll({ type: 'headless' });
    expect(everyone.map(({ raw: _raw, ...row }) => row)).toContainEqual({
      userid: done.userid,
      type: 'headless',
      status: 'Completed',
      startTime: done.startTime,
    });

    expect(await client.logs(id)).toContain('hello-from-replica');
    const events = await client.events(id);
    expect(Array.isArray(events)).toBe(true);

    // Renew needs an active job: a finished one is refused with the service's text.
    const renewError = await rejection(client.renew(id));
    expect(renewError.status).toBe(400);
    expect(renewError.message).toContain('No active job');

    await client.delete(id);
    const gone = await rejection(client.get(id));
    expect(gone.code).toBe('not-found');
    expect(gone.status).toBe(404);
    expect(gone.serviceMessage).toContain(`session ${id} not found`);
  });

  it('renew of a running session succeeds', async () => {
    const id = await client.create({ name: 'sleeper', image: IMAGE, cmd: 'sleep', args: ['30'] });
    await until('the session to run', async () =>
      (await client.get(id)).status === 'Running' ? true : undefined,
    );
    await expect(client.renew(id)).resolves.toBeUndefined();
    await client.delete(id);
  });

  it('stats, context, images, repositories', async () => {
    const stats = await client.stats();
    expect(stats.cores.available).toBe(8);
    expect(stats.ram.availableGB).toBeGreaterThan(0);
    const context = await client.context();
    expect(context.cores.options).toContain(1);
    expect(context.memoryGB.options.length).toBeGreaterThan(0);
    const images = await client.images('headless');
    expect(images.map((i) => i.id)).toContain(IMAGE);
    expect(images.every((i) => i.types.includes('headless'))).toBe(true);
    expect(await client.repositories()).toEqual(['images.canfar.net']);
  });

  it('400 from the service carries its text', async () => {
    const error = await rejection(client.images('spaceship' as never));
    expect(error.code).toBe('bad-request');
    expect(error.status).toBe(400);
    expect(error.serviceMessage).toBe('unknown type: spaceship');
    expect(error.message).toContain('unknown type: spaceship');
  });

  it('a wrong token is a 401 with the service text', async () => {
    const wrong = await connect({ url: server.url, token: 'not-the-token', env: {} });
    try {
      const error = await rejection(wrong.client.list());
      expect(error.code).toBe('unauthenticated');
      expect(error.status).toBe(401);
      expect(error.serviceMessage).toBe('Unauthorized');
    } finally {
      await wrong.close();
    }
  });

  it('connect({url: "local"}) finds the running server through server.json and its token file', async () => {
    const local = await connect({ url: 'local', stateDir, env: {} });
    try {
      expect(local.endpoint).toBe('local');
      expect(local.baseUrl).toBe(server.apiUrl);
      expect(local.credentials.source).toContain(server.tokenFile);
      expect(await local.client.repositories()).toEqual(['images.canfar.net']);
    } finally {
      await local.close();
    }
  });
});

describe('503 from the local server (fault injection)', () => {
  it('GET is retried after Retry-After; the final 503 carries the service text and Retry-After', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'canfar-client-'));
    const server = await startLocalServer({
      stateDir,
      faults: { unavailableRate: 1, retryAfterSeconds: 0, pathIncludes: '/context' },
    });
    const connection = await connect({ url: server.url, token: server.token, env: {} });
    try {
      const error = await rejection(connection.client.context());
      expect(error.code).toBe('unavailable');
      expect(error.status).toBe(503);
      expect(error.retryAfterSeconds).toBe(0);
      expect(error.serviceMessage).toContain('Service temporarily unavailable');
      // Other paths are unaffected.
      expect(await connection.client.repositories()).toEqual(['images.canfar.net']);
    } finally {
      await connection.close();
      await server.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('403 and 404 mapping with the service text (a Skaha-like stub on loopback)', () => {
  let server: http.Server;
  let url: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/plain');
      if (req.url?.startsWith('/skaha/v1/session/')) {
        res.statusCode = 404;
        res.end('session abcdefgh not found\n');
      } else {
        res.statusCode = 403;
        res.end('jdoe is not a member of the science platform users group\n');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/skaha`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('403 is forbidden with the text; 404 is not-found with the text', async () => {
    const connection = await connect({ url, token: 't', env: {} });
    try {
      const forbidden = await rejection(connection.client.list());
      expect(forbidden.code).toBe('forbidden');
      expect(forbidden.status).toBe(403);
      expect(forbidden.message).toContain('not a member of the science platform users group');
      const missing = await rejection(connection.client.get('abcdefgh'));
      expect(missing.code).toBe('not-found');
      expect(missing.serviceMessage).toBe('session abcdefgh not found');
    } finally {
      await connection.close();
    }
  });
});

const describeTls = hasOpenssl() ? describe : describe.skip;

describeTls('mTLS against the local server over HTTPS (throwaway CA)', () => {
  let pki: Pki;
  let stateDir: string;
  let server: LocalServer;
  beforeAll(async () => {
    pki = makePki();
    stateDir = mkdtempSync(join(tmpdir(), 'canfar-client-tls-'));
    server = await startLocalServer({
      stateDir,
      user: 'someone-else',
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca },
    });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(stateDir, { recursive: true, force: true });
    pki?.cleanup();
  });

  it('the client certificate (chain and key in one PEM) authenticates; the user is its CN', async () => {
    expect(server.url).toMatch(/^https:/);
    const connection = await connect({
      url: server.url,
      certificate: pki.clientPemPath,
      ca: pki.ca,
      env: {},
    });
    try {
      expect(connection.credentials).toMatchObject({ kind: 'certificate', user: 'jdoe' });
      const id = await connection.client.create({ name: 'tls', image: IMAGE, cmd: 'true' });
      const session = await connection.client.get(id);
      expect(session.userid).toBe('jdoe');
      expect((await connection.client.list()).map((s) => s.id)).toEqual([id]);
    } finally {
      await connection.close();
    }
  });

  it('a certificate from another CA is not accepted: 401', async () => {
    const connection = await connect({
      url: server.url,
      certificate: pki.strangerPemPath,
      ca: pki.ca,
      env: {},
    });
    try {
      const error = await rejection(connection.client.list());
      expect(error.status).toBe(401);
    } finally {
      await connection.close();
    }
  });

  it('an expired certificate is refused before any request, with its date', async () => {
    await expect(
      connect({ url: server.url, certificate: pki.expiredPemPath, ca: pki.ca, env: {} }),
    ).rejects.toThrow(/certificate option: the certificate in .* \(oldtimer\) expired on \d{4}-/);
  });
});
