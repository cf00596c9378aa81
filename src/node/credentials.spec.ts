import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasOpenssl, makePki, type Pki } from '../../test/helpers/pki';
import { CredentialsError, discoverCredentials, inspectCertificate } from './credentials';

// Every case runs against a temporary HOME; the real one is never read.
const describeTls = hasOpenssl() ? describe : describe.skip;

describeTls('discoverCredentials', () => {
  let pki: Pki;
  let home: string;
  beforeAll(() => {
    pki = makePki();
  });
  afterAll(() => pki.cleanup());
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'canfar-home-'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const writeConfig = (yaml: string) => {
    mkdirSync(join(home, '.canfar'), { recursive: true });
    writeFileSync(join(home, '.canfar', 'config.yaml'), yaml);
  };
  const installProxy = (from: string) => {
    mkdirSync(join(home, '.ssl'), { recursive: true });
    writeFileSync(join(home, '.ssl', 'cadcproxy.pem'), readFileSync(from));
  };

  it('CANFAR_TOKEN wins over everything else', async () => {
    installProxy(pki.clientPemPath);
    const found = await discoverCredentials({
      env: { CANFAR_TOKEN: ' tok \n', CANFAR_CERTIFICATE: pki.clientPemPath },
      home,
    });
    expect(found).toEqual({ kind: 'token', source: 'CANFAR_TOKEN', token: 'tok' });
  });

  it('CANFAR_CERTIFICATE: the user from the subject CN and the expiry date', async () => {
    const found = await discoverCredentials({ env: { CANFAR_CERTIFICATE: pki.clientPemPath }, home });
    expect(found.kind).toBe('certificate');
    expect(found.source).toBe('CANFAR_CERTIFICATE');
    expect(found.certificatePath).toBe(pki.clientPemPath);
    expect(found.user).toBe('jdoe');
    expect(found.expires!.getTime()).toBeGreaterThan(Date.now());
  });

  it('config.yaml, x509 context (mapping form): its certificate and its server URL with the version', async () => {
    writeConfig(`version: 1
active:
  authentication: cadc
  server: canfar
authentication:
  cadc:
    mode: x509
    path: ${pki.clientPemPath}
servers:
  canfar:
    url: https://ws-uv.canfar.net/skaha
    version: v1
`);
    const found = await discoverCredentials({ env: {}, home });
    expect(found).toMatchObject({
      kind: 'certificate',
      source: '~/.canfar/config.yaml (context cadc)',
      certificatePath: pki.clientPemPath,
      url: 'https://ws-uv.canfar.net/skaha/v1',
      user: 'jdoe',
    });
  });

  it('config.yaml, oidc context (list form of newer releases): the access token and the server', async () => {
    const future = Math.floor(Date.now() / 1000) + 3600;
    writeConfig(`version: 1
active:
  authentication: srcnet
  server: ivo://example.org/skaha
authentication:
  - idp: srcnet
    mode: oidc
    token:
      access: eyJ.access.token
    expiry:
      access: ${future}
server:
  - name: Example
    uri: ivo://example.org/skaha
    url: https://example.org/skaha
    version: v1
`);
    const found = await discoverCredentials({ env: {}, home });
    expect(found).toMatchObject({
      kind: 'token',
      token: 'eyJ.access.token',
      source: '~/.canfar/config.yaml (context srcnet)',
      url: 'https://example.org/skaha/v1',
    });
    expect(found.expires!.getTime()).toBe(future * 1000);
  });

  it('an expired OIDC token in the config is skipped with its date; the proxy certificate is used', async () => {
    writeConfig(`version: 1
active: { authentication: srcnet }
authentication:
  srcnet: { mode: oidc, token: { access: old }, expiry: { access: 1000000000 } }
`);
    installProxy(pki.clientPemPath);
    const found = await discoverCredentials({ env: {}, home });
    expect(found.source).toBe('~/.ssl/cadcproxy.pem');
    expect(found.skipped).toEqual([
      { source: 'CANFAR_TOKEN', reason: 'not set' },
      { source: 'CANFAR_CERTIFICATE', reason: 'not set' },
      {
        source: '~/.canfar/config.yaml',
        reason: expect.stringContaining('expired on 2001-09-09T01:46:40.000Z'),
      },
    ]);
  });

  it('a path written with ~ in the config or CANFAR_CERTIFICATE is read from HOME', async () => {
    installProxy(pki.clientPemPath);
    writeConfig(
      'version: 1\nactive: { authentication: cadc }\nauthentication:\n  cadc: { mode: x509, path: ~/.ssl/cadcproxy.pem }\n',
    );
    const fromConfig = await discoverCredentials({ env: {}, home });
    expect(fromConfig).toMatchObject({
      source: '~/.canfar/config.yaml (context cadc)',
      certificatePath: join(home, '.ssl', 'cadcproxy.pem'),
    });
    const fromEnv = await discoverCredentials({ env: { CANFAR_CERTIFICATE: '~/.ssl/cadcproxy.pem' }, home });
    expect(fromEnv).toMatchObject({
      source: 'CANFAR_CERTIFICATE',
      certificatePath: join(home, '.ssl', 'cadcproxy.pem'),
    });
  });

  it('~/.ssl/cadcproxy.pem, the certificate every CANFAR session has', async () => {
    installProxy(pki.clientPemPath);
    const found = await discoverCredentials({ env: {}, home });
    expect(found).toMatchObject({ kind: 'certificate', source: '~/.ssl/cadcproxy.pem', user: 'jdoe' });
  });

  it('an expired certificate is reported as expired, with its date and the user', async () => {
    installProxy(pki.expiredPemPath);
    const error = (await discoverCredentials({ env: {}, home }).catch((e) => e)) as CredentialsError;
    expect(error).toBeInstanceOf(CredentialsError);
    const notAfter = inspectCertificate(readFileSync(pki.expiredPemPath, 'utf8')).notAfter.toISOString();
    expect(error.message).toContain(
      `~/.ssl/cadcproxy.pem: the certificate in ${join(home, '.ssl', 'cadcproxy.pem')} (oldtimer) expired on ${notAfter}`,
    );
  });

  it('nothing usable: the error lists every source tried and why each failed', async () => {
    writeConfig('version: 1\nactive: { authentication: cadc }\nauthentication: {}\n');
    const error = (await discoverCredentials({
      env: { CANFAR_CERTIFICATE: '/nonexistent/proxy.pem' },
      home,
    }).catch((e) => e)) as CredentialsError;
    expect(error).toBeInstanceOf(CredentialsError);
    expect(error.attempts).toEqual([
      { source: 'CANFAR_TOKEN', reason: 'not set' },
      { source: 'CANFAR_CERTIFICATE', reason: '/nonexistent/proxy.pem does not exist' },
      {
        source: '~/.canfar/config.yaml',
        reason: expect.stringContaining("active.authentication 'cadc' is not under authentication:"),
      },
      { source: '~/.ssl/cadcproxy.pem', reason: 'no such file' },
    ]);
    expect(error.message).toMatch(
      /^No usable CANFAR credentials\. Tried, in order:\n {2}- CANFAR_TOKEN: not set\n/,
    );
  });

  it('a PEM without its private key is not usable, and says so', async () => {
    const error = (await discoverCredentials({
      env: { CANFAR_CERTIFICATE: join(pki.dir, 'client.pem') },
      home,
    }).catch((e) => e)) as CredentialsError;
    expect(error.attempts[1].reason).toMatch(/no private key in it/);
  });

  it('a config file that is not YAML is reported with the parse error', async () => {
    writeConfig('active: [unclosed\n');
    const error = (await discoverCredentials({ env: {}, home }).catch((e) => e)) as CredentialsError;
    expect(error.attempts[2].reason).toMatch(/is not valid YAML/);
  });
});
