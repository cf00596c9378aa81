/** HTTPS, and client certificates signed by the configured CA as an alternative to the bearer token. */
import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';

import { hasOpenssl, makePki, type Pki } from './helpers/pki';
import { IMAGE, startTestServer } from './helpers/local';

const maybe = hasOpenssl() ? describe : describe.skip;

maybe('local server over HTTPS with client certificates', () => {
  let pki: Pki;
  let t: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    pki = makePki();
    t = await startTestServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
  });
  afterAll(async () => {
    await t.dispose();
    pki.cleanup();
  });

  const call = async (
    path: string,
    init: { pem?: string; token?: string; method?: string; body?: string } = {},
  ) => {
    const pem = init.pem ? readFileSync(init.pem, 'utf8') : undefined;
    const dispatcher = new Agent({ connect: { ca: pki.ca, ...(pem ? { cert: pem, key: pem } : {}) } });
    try {
      const res = await undiciFetch(`${t.server.apiUrl}${path}`, {
        method: init.method ?? 'GET',
        dispatcher,
        headers: {
          ...(init.token ? { Authorization: `Bearer ${init.token}` } : {}),
          ...(init.body ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
        },
        body: init.body,
      });
      return { status: res.status, body: await res.text() };
    } finally {
      await dispatcher.close();
    }
  };

  test('the URL is https; the token still works without a certificate', async () => {
    expect(t.server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/skaha$/);
    expect((await call('/context', { token: t.server.token })).status).toBe(200);
    expect((await call('/context')).status).toBe(401);
  });

  test('a certificate from the CA authenticates as its CN; sessions belong to that user', async () => {
    const created = await call('/session', {
      pem: pki.clientPemPath,
      method: 'POST',
      body: `name=mtls&image=${IMAGE}&cmd=true`,
    });
    expect(created.status).toBe(200);
    const id = created.body.trim();
    const session = JSON.parse((await call(`/session/${id}`, { pem: pki.clientPemPath })).body);
    expect(session.userid).toBe('jdoe');
    // The token's user is someone else: jdoe's session is not theirs.
    expect((await call(`/session/${id}`, { token: t.server.token })).status).toBe(404);
  });

  test('certificates from another CA, or expired ones, do not authenticate', async () => {
    expect((await call('/context', { pem: pki.strangerPemPath })).status).toBe(401);
    expect((await call('/context', { pem: pki.expiredPemPath })).status).toBe(401);
  });
});
