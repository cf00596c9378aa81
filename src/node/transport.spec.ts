import { once } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SkahaTransportError, type TransportRequest } from '../skaha';
import { hasOpenssl, makePki, type Pki } from '../../test/helpers/pki';
import { createNodeTransport, retryAfterMs, timeoutFromEnv, type NodeTransport } from './transport';

// Real sockets on 127.0.0.1: small servers that misbehave on purpose, one behaviour per test.
type Handler = (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void;

const servers: (http.Server | https.Server)[] = [];
const transports: NodeTransport[] = [];

async function serve(
  handler: Handler,
): Promise<{ url: string; hits: () => number; connections: () => number }> {
  let hits = 0;
  let connections = 0;
  const server = http.createServer((req, res) => {
    hits++;
    // Drain the request body first: the transport must see the server's reaction, not a write error.
    req.resume();
    req.on('end', () => handler(req, res, hits));
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    connections: () => connections,
  };
}

function transport(options: Parameters<typeof createNodeTransport>[0] = {}): NodeTransport {
  const t = createNodeTransport({ retries: 2, ...options });
  transports.push(t);
  return t;
}

const get = (url: string, extra: Partial<TransportRequest> = {}): TransportRequest => ({
  method: 'GET',
  url,
  headers: {},
  idempotent: true,
  ...extra,
});
const post = (url: string): TransportRequest => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: 'name=a&image=b',
  idempotent: false,
});

async function failure(promise: Promise<unknown>): Promise<SkahaTransportError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SkahaTransportError);
    return error as SkahaTransportError;
  }
  throw new Error('expected a SkahaTransportError');
}

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

describe('createNodeTransport', () => {
  it('sends the bearer token and the request, and returns status, headers and body', async () => {
    let seen: http.IncomingHttpHeaders = {};
    let body = '';
    const server = http.createServer((req, res) => {
      seen = req.headers;
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        res.setHeader('X-Thing', 'yes');
        res.end(`${req.method} ${req.url}`);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/skaha/v1/session?view=stats`;
    const t = transport({ token: 's3cret' });
    const response = await t({ ...post(url), headers: { ...post(url).headers, 'user-agent': 'test/1' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('X-THING')).toBe('yes');
    expect(await response.text()).toBe('POST /skaha/v1/session?view=stats');
    expect(seen.authorization).toBe('Bearer s3cret');
    expect(seen['user-agent']).toBe('test/1');
    expect(body).toBe('name=a&image=b');
  });

  it('reuses keep-alive connections for sequential calls', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const t = transport();
    for (let i = 0; i < 20; i++) expect(await (await t(get(server.url))).text()).toBe('ok');
    expect(server.hits()).toBe(20);
    // undici's pool may open a second socket while the first is finishing its first response; never more.
    expect(server.connections()).toBeLessThanOrEqual(2);
  });

  it('never opens more connections than maxConnections', async () => {
    const server = await serve((_req, res) => setTimeout(() => res.end('ok'), 20));
    const t = transport({ maxConnections: 3 });
    await Promise.all(Array.from({ length: 30 }, () => t(get(server.url))));
    expect(server.hits()).toBe(30);
    expect(server.connections()).toBeLessThanOrEqual(3);
  });

  it('connection refused: sent=false, the host named, retried for GET', async () => {
    const server = await serve((_req, res) => res.end());
    const url = server.url;
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    const error = await failure(transport()(get(`${url}/skaha/v1/session`)));
    expect(error.sent).toBe(false);
    expect(error.code).toBe('transport');
    expect(error.message).toMatch(/connection refused by 127\.0\.0\.1:\d+/);
    const postError = await failure(transport()(post(`${url}/skaha/v1/session`)));
    expect(postError.sent).toBe(false);
  });

  it('a connection reset after the request was written: GET is retried and succeeds', async () => {
    const server = await serve((req, res, hit) => (hit === 1 ? req.socket.destroy() : res.end('second')));
    const response = await transport()(get(server.url));
    expect(await response.text()).toBe('second');
    expect(server.hits()).toBe(2);
  });

  it('a connection reset after a POST was written: no retry, sent=true, advice to list first', async () => {
    const server = await serve((req) => req.socket.destroy());
    const error = await failure(transport()(post(server.url)));
    expect(server.hits()).toBe(1);
    expect(error.sent).toBe(true);
    expect(error.message).toMatch(/may have reached the server: list the sessions/);
  });

  it('GET gives up after `retries` extra attempts', async () => {
    const server = await serve((req) => req.socket.destroy());
    const error = await failure(transport({ retries: 2 })(get(server.url)));
    expect(server.hits()).toBe(3);
    expect(error.sent).toBe(true);
  });

  it('503 with Retry-After: GET waits and retries; POST gets the 503 at once', async () => {
    const server = await serve((_req, res, hit) => {
      if (hit === 1) {
        res.writeHead(503, { 'Retry-After': '1' });
        res.end('busy');
      } else res.end('fine');
    });
    const started = Date.now();
    const response = await transport()(get(server.url));
    expect(await response.text()).toBe('fine');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);

    const busy = await serve((_req, res) => {
      res.writeHead(503, { 'Retry-After': '1' });
      res.end('busy');
    });
    const refused = await transport()(post(busy.url));
    expect(refused.status).toBe(503);
    expect(await refused.text()).toBe('busy');
    expect(busy.hits()).toBe(1);
  });

  it('503 with a Retry-After beyond the cap, or without one, is returned to the caller', async () => {
    const server = await serve((_req, res, hit) => {
      res.writeHead(503, hit === 1 ? { 'Retry-After': '3600' } : {});
      res.end('maintenance');
    });
    const t = transport({ maxRetryAfterSeconds: 5 });
    const long = await t(get(server.url));
    expect(long.status).toBe(503);
    expect(long.headers.get('retry-after')).toBe('3600');
    const none = await t(get(server.url));
    expect(none.status).toBe(503);
    expect(server.hits()).toBe(2);
  });

  it('deadline: a server that never answers fails after timeoutMs with sent=true and CANFAR_TIMEOUT named', async () => {
    const server = await serve(() => undefined);
    const started = Date.now();
    const error = await failure(transport({ timeoutMs: 300 })(post(server.url)));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(error.sent).toBe(true);
    expect(error.message).toMatch(/no complete answer within 0\.3 s \(set CANFAR_TIMEOUT/);
    expect(server.hits()).toBe(1);
  });

  it('the caller can cancel with its own signal', async () => {
    const server = await serve(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 50);
    const error = await failure(transport()(get(server.url, { signal: controller.signal })));
    expect(error.message).toMatch(/cancelled/);
  });

  it('reads CANFAR_TIMEOUT in seconds, 30 s otherwise', () => {
    expect(timeoutFromEnv({ CANFAR_TIMEOUT: '5' })).toBe(5000);
    expect(timeoutFromEnv({ CANFAR_TIMEOUT: 'soon' })).toBe(30_000);
    expect(timeoutFromEnv({})).toBe(30_000);
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4000)).toBe(6000);
    expect(retryAfterMs('later')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('a certificate file without a private key is refused before any connection', () => {
    const pki = hasOpenssl() ? makePki() : undefined;
    if (!pki) return;
    try {
      const certOnly = `${pki.dir}/client.pem`;
      expect(() => createNodeTransport({ certificatePath: certOnly })).toThrow(
        /certificate chain AND its private key/,
      );
      expect(() => createNodeTransport({ certificatePath: `${pki.dir}/missing.pem` })).toThrow(
        /cannot read the certificate file/,
      );
    } finally {
      pki.cleanup();
    }
  });
});

const describeTls = hasOpenssl() ? describe : describe.skip;

describeTls('mutual TLS from one PEM (throwaway CA made with openssl)', () => {
  let pki: Pki;
  let url: string;
  let tlsServer: https.Server;
  beforeAll(async () => {
    pki = makePki();
    // A server that REQUIRES a client certificate signed by the CA, and answers with the caller's CN.
    const server = https.createServer(
      { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const cn = (req.socket as TLSSocket).getPeerCertificate().subject.CN;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify([
            { id: 'abcdefgh', userid: cn, name: 'x', image: 'i', type: 'headless', status: 'Running' },
          ]),
        );
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/skaha/v1/session`;
    tlsServer = server;
  });
  afterAll(() => {
    tlsServer.closeAllConnections();
    tlsServer.close();
    pki.cleanup();
  });

  it('authenticates with the certificate and key from the same file', async () => {
    const t = createNodeTransport({ certificatePath: pki.clientPemPath, ca: pki.ca });
    try {
      const response = await t(get(url));
      expect(response.status).toBe(200);
      expect(JSON.parse(await response.text())[0].userid).toBe('jdoe');
    } finally {
      await t.close();
    }
  });

  it('a certificate from another CA is refused by the server: the call fails naming the request', async () => {
    const t = createNodeTransport({ certificatePath: pki.strangerPemPath, ca: pki.ca, retries: 0 });
    try {
      const error = await failure(t(get(url)));
      expect(error.message).toMatch(/GET https:\/\/127\.0\.0\.1/);
    } finally {
      await t.close();
    }
  });

  it('an unknown server CA is reported as a TLS failure with its code', async () => {
    const t = createNodeTransport({ certificatePath: pki.clientPemPath });
    try {
      const error = await failure(t(get(url)));
      expect(error.sent).toBe(false);
      expect(error.message).toMatch(
        /TLS failed \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
      );
    } finally {
      await t.close();
    }
  });
});
