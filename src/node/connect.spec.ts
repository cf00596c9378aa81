import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SkahaError } from '../skaha';
import { CredentialsError } from './credentials';
import { CANFAR_URL, ConnectError, connect, resolveBaseUrl } from './connect';

describe('resolveBaseUrl', () => {
  it('canfar is the CANFAR service, API v1', () => {
    expect(resolveBaseUrl('canfar')).toBe(`${CANFAR_URL}/v1`);
  });
  it('a URL ending in /skaha gets /v1; one ending in a version is used as given', () => {
    expect(resolveBaseUrl('https://example.org/skaha')).toBe('https://example.org/skaha/v1');
    expect(resolveBaseUrl('https://example.org/skaha/')).toBe('https://example.org/skaha/v1');
    expect(resolveBaseUrl('https://example.org/skaha/v1')).toBe('https://example.org/skaha/v1');
    expect(resolveBaseUrl('https://example.org/skaha/v2')).toBe('https://example.org/skaha/v2');
  });
  it('refuses what is not an http(s) URL, naming it', () => {
    expect(() => resolveBaseUrl('ws-uv.canfar.net/skaha')).toThrow(ConnectError);
    expect(() => resolveBaseUrl('ws-uv.canfar.net/skaha')).toThrow('Not a URL: "ws-uv.canfar.net/skaha"');
    expect(() => resolveBaseUrl('ftp://example.org/skaha')).toThrow(/Unsupported URL scheme/);
  });
});

describe('connect: which endpoint and which credential', () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'canfar-connect-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('CANFAR_URL (with its /v1) and CANFAR_TOKEN', async () => {
    const c = await connect({
      env: { CANFAR_URL: 'https://example.org/skaha/v1', CANFAR_TOKEN: 'tok' },
      home,
    });
    await c.close();
    expect(c.baseUrl).toBe('https://example.org/skaha/v1');
    expect(c.endpoint).toBe('custom');
    expect(c.credentials.source).toBe('CANFAR_TOKEN');
  });

  it('the explicit url wins over CANFAR_URL; `canfar` is the CANFAR endpoint', async () => {
    const c = await connect({
      url: 'canfar',
      env: { CANFAR_URL: 'https://example.org/skaha', CANFAR_TOKEN: 't' },
      home,
    });
    await c.close();
    expect(c.baseUrl).toBe('https://ws-uv.canfar.net/skaha/v1');
    expect(c.endpoint).toBe('canfar');
  });

  it('without a URL, the server of the active config entry', async () => {
    mkdirSync(join(home, '.canfar'));
    writeFileSync(
      join(home, '.canfar', 'config.yaml'),
      'version: 1\nactive: { authentication: srcnet, server: uk }\nauthentication:\n  srcnet: { mode: oidc, token: { access: abc } }\nservers:\n  uk: { url: "https://uk.example.org/skaha", version: v1 }\n',
    );
    const c = await connect({ env: {}, home });
    await c.close();
    expect(c.baseUrl).toBe('https://uk.example.org/skaha/v1');
    expect(c.credentials).toMatchObject({
      kind: 'token',
      token: 'abc',
      source: '~/.canfar/config.yaml (context srcnet)',
    });
  });

  it('without a URL or config: the local server, and a clear error when none runs', async () => {
    const stateDir = join(home, 'state');
    await expect(connect({ env: {}, home, stateDir })).rejects.toThrow(
      `No local server is running (no ${join(stateDir, 'server.json')}). Start one with \`canfar-lab local\``,
    );
  });

  it('a server.json whose process is gone is reported as not running', async () => {
    const stateDir = join(home, 'state');
    mkdirSync(stateDir);
    writeFileSync(
      join(stateDir, 'server.json'),
      JSON.stringify({
        url: 'http://127.0.0.1:1/skaha',
        pid: 2 ** 22 + 7,
        tokenFile: join(stateDir, 'token'),
      }),
    );
    await expect(connect({ url: 'local', env: {}, home, stateDir })).rejects.toThrow(
      /\(pid 4194311\) is not running/,
    );
  });

  it('a remote URL without credentials: the CredentialsError listing the sources', async () => {
    const error = await connect({ url: 'https://example.org/skaha', env: {}, home }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialsError);
    expect((error as CredentialsError).attempts.map((a) => a.source)).toEqual([
      'CANFAR_TOKEN',
      'CANFAR_CERTIFICATE',
      '~/.canfar/config.yaml',
      '~/.ssl/cadcproxy.pem',
    ]);
  });

  it('a URL with a query string is refused by the protocol layer as invalid input', async () => {
    const error = await connect({ url: 'https://example.org/skaha?x=1', token: 't', env: {}, home }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SkahaError);
    expect((error as SkahaError).code).toBe('invalid-input');
  });
});
