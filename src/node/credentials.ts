import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** The credential a client authenticates with, and where it was found. Never printed whole. */
export interface Credentials {
  kind: 'token' | 'certificate';
  /** Where it came from, for messages: 'CANFAR_TOKEN', '~/.canfar/config.yaml (context cadc)', ... */
  source: string;
  token?: string;
  /** A PEM file holding the certificate chain and the private key. */
  certificatePath?: string;
  /** The server URL that goes with the credential (config file only). */
  url?: string;
  /** End of validity (certificate notAfter, or the OIDC access token expiry recorded in the config). */
  expires?: Date;
  /** The user name: the certificate subject's CN. */
  user?: string;
  /** Earlier sources that were present but unusable, with the reason: worth a warning. */
  skipped?: { source: string; reason: string }[];
}

export interface DiscoverOptions {
  env?: NodeJS.ProcessEnv;
  /** Home directory holding .canfar/config.yaml and .ssl/cadcproxy.pem. Default: the user's. */
  home?: string;
  /** Clock for expiry checks. */
  now?: Date;
}

/** No source gave a usable credential; `attempts` says what was tried and why each failed. */
export class CredentialsError extends Error {
  readonly code = 'no-credentials';
  constructor(readonly attempts: { source: string; reason: string }[]) {
    super(
      [
        'No usable CANFAR credentials. Tried, in order:',
        ...attempts.map((a) => `  - ${a.source}: ${a.reason}`),
        'Set CANFAR_TOKEN to a token, or CANFAR_CERTIFICATE to a PEM proxy certificate (for example from',
        '`cadc-get-cert`), or log in with the official client (`canfar auth login`).',
      ].join('\n'),
    );
    this.name = 'CredentialsError';
  }
}

/** A credential source that was present but not usable (expired certificate, unreadable file...). */
class Unusable extends Error {}

/**
 * Finds the credential to use, first usable source wins (ARCHITECTURE.md): `CANFAR_TOKEN`,
 * `CANFAR_CERTIFICATE` (PEM path), the active entry of `~/.canfar/config.yaml`, `~/.ssl/cadcproxy.pem`.
 * A source that is present but unusable (an expired certificate, say) is skipped with its reason kept in
 * `skipped`, so that a stale configured certificate does not hide the fresh proxy certificate a CANFAR
 * session provides; when nothing works the error lists every source and why it failed.
 */
export async function discoverCredentials(options: DiscoverOptions = {}): Promise<Credentials> {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME ?? homedir();
  const now = options.now ?? new Date();
  const attempts: { source: string; reason: string }[] = [];
  const sources: [string, () => Promise<Credentials | undefined>][] = [
    ['CANFAR_TOKEN', async () => fromToken(env.CANFAR_TOKEN)],
    [
      'CANFAR_CERTIFICATE',
      async () =>
        env.CANFAR_CERTIFICATE?.trim()
          ? fromCertificate(expandHome(env.CANFAR_CERTIFICATE.trim(), home), 'CANFAR_CERTIFICATE', now)
          : undefined,
    ],
    ['~/.canfar/config.yaml', () => fromConfig(join(home, '.canfar', 'config.yaml'), home, now)],
    [
      '~/.ssl/cadcproxy.pem',
      () => fromCertificate(join(home, '.ssl', 'cadcproxy.pem'), '~/.ssl/cadcproxy.pem', now, true),
    ],
  ];
  for (const [source, find] of sources) {
    try {
      const found = await find();
      if (found) return attempts.length ? { ...found, skipped: attempts } : found;
      attempts.push({ source, reason: source.startsWith('~') ? 'no such file' : 'not set' });
    } catch (error) {
      if (!(error instanceof Unusable)) throw error;
      attempts.push({ source, reason: error.message });
    }
  }
  // Sources that were merely absent are named too: the user sees every place we looked.
  throw new CredentialsError(attempts);
}

/**
 * A certificate named explicitly (a command-line option): loaded and checked like a discovered one, but
 * an unusable one is an error rather than a reason to look elsewhere.
 */
export async function certificateCredentials(
  path: string,
  source: string,
  now = new Date(),
): Promise<Credentials> {
  try {
    return (await fromCertificate(path, source, now)) as Credentials;
  } catch (error) {
    if (error instanceof Unusable) throw new CredentialsError([{ source, reason: error.message }]);
    throw error;
  }
}

/** `~/x` as a shell would read it; configs written by hand use it. */
function expandHome(path: string, home: string): string {
  return path.replace(/^~(?=\/|$)/, home);
}

function fromToken(value: string | undefined): Credentials | undefined {
  const token = value?.trim();
  return token ? { kind: 'token', source: 'CANFAR_TOKEN', token } : undefined;
}

/** What a certificate PEM says about itself: user (subject CN) and validity end. */
export interface CertificateInfo {
  user?: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
}

/** Reads the first certificate of a PEM (the one presented to the server). Throws on bad input. */
export function inspectCertificate(pem: string): CertificateInfo {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (!match) throw new Error('no certificate (-----BEGIN CERTIFICATE-----) in it');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new Error('no private key in it (the file must hold the certificate AND its key)');
  }
  const certificate = new X509Certificate(match[0]);
  // A proxy certificate's subject ends in an extra numeric CN: the user is the first non-numeric CN.
  const names = [...certificate.subject.matchAll(/^CN=(.*)$/gm)].map((m) => m[1].trim());
  const user = names.find((n) => !/^\d+$/.test(n));
  return {
    user,
    subject: certificate.subject.replace(/\n/g, ', '),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
  };
}

async function fromCertificate(
  path: string,
  source: string,
  now: Date,
  optional = false,
): Promise<Credentials | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (optional && code === 'ENOENT') return undefined;
    throw new Unusable(
      code === 'ENOENT' ? `${path} does not exist` : `cannot read ${path}: ${(error as Error).message}`,
    );
  }
  let info: CertificateInfo;
  try {
    info = inspectCertificate(pem);
  } catch (error) {
    throw new Unusable(`${path} is not a usable PEM certificate: ${(error as Error).message}`);
  }
  if (info.notAfter.getTime() <= now.getTime()) {
    throw new Unusable(
      `the certificate in ${path} (${info.user ?? info.subject}) expired on ${info.notAfter.toISOString()}; ` +
        'get a new one (e.g. `cadc-get-cert -u USER`, or `canfar auth login`)',
    );
  }
  if (info.notBefore.getTime() > now.getTime()) {
    throw new Unusable(`the certificate in ${path} is not valid before ${info.notBefore.toISOString()}`);
  }
  return { kind: 'certificate', source, certificatePath: path, expires: info.notAfter, user: info.user };
}

type Yaml = Record<string, unknown>;
const isObject = (value: unknown): value is Yaml =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The active entry of the official client's config. Two shapes exist in the wild and both are read:
 * `authentication:` as a mapping keyed by name (with `servers.<name>`), or, in newer releases, as a list
 * of records keyed by `idp` (with a `server:` list keyed by `uri`).
 */
async function fromConfig(path: string, home: string, now: Date): Promise<Credentials | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Unusable(`cannot read ${path}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = parseYaml(text);
  } catch (error) {
    throw new Unusable(`${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isObject(config)) throw new Unusable(`${path} does not hold a mapping`);
  if (config.version !== undefined && Number(config.version) !== 1) {
    throw new Unusable(`${path} has version ${String(config.version)}; only version 1 is understood`);
  }
  const active = isObject(config.active) ? config.active : {};
  const name = typeof active.authentication === 'string' ? active.authentication : undefined;
  if (!name) throw new Unusable(`${path} names no active.authentication`);
  const entry = findEntry(config.authentication, name, 'idp');
  if (!entry) throw new Unusable(`${path}: active.authentication '${name}' is not under authentication:`);
  const source = `~/.canfar/config.yaml (context ${name})`;
  const url = serverUrl(config, active, name, entry);
  const mode = entry.mode;
  if (mode === 'x509') {
    if (typeof entry.path !== 'string' || !entry.path) throw new Unusable(`context '${name}' has no path`);
    const certPath = expandHome(entry.path, home);
    const found = await fromCertificate(certPath, source, now);
    return found && { ...found, ...(url ? { url } : {}) };
  }
  if (mode === 'oidc') {
    const token = isObject(entry.token) ? entry.token.access : undefined;
    if (typeof token !== 'string' || !token.trim()) {
      throw new Unusable(
        `context '${name}' (oidc) has no token.access; log in again with \`canfar auth login\``,
      );
    }
    const expiry = isObject(entry.expiry) ? Number(entry.expiry.access) : NaN;
    const expires = Number.isFinite(expiry) && expiry > 0 ? new Date(expiry * 1000) : undefined;
    if (expires && expires.getTime() <= now.getTime()) {
      throw new Unusable(
        `the OIDC access token of context '${name}' expired on ${expires.toISOString()}; ` +
          'refresh it with `canfar auth login`',
      );
    }
    return {
      kind: 'token',
      source,
      token: token.trim(),
      ...(url ? { url } : {}),
      ...(expires ? { expires } : {}),
    };
  }
  throw new Unusable(`context '${name}' has mode ${JSON.stringify(mode)}; expected x509 or oidc`);
}

/** An entry by name: a mapping key, or a list item whose `key` field (or `name`) matches. */
function findEntry(collection: unknown, name: string, key: string): Yaml | undefined {
  if (isObject(collection)) return isObject(collection[name]) ? collection[name] : undefined;
  if (Array.isArray(collection)) {
    return collection.find(
      (item): item is Yaml => isObject(item) && (item[key] === name || item.name === name),
    );
  }
  return undefined;
}

/** The Skaha URL of the active server: `active.server`, else the entry's own server, else the idp's. */
function serverUrl(config: Yaml, active: Yaml, name: string, entry: Yaml): string | undefined {
  const servers = config.servers ?? config.server;
  const candidates: (Yaml | undefined)[] = [];
  if (typeof active.server === 'string') candidates.push(findEntry(servers, active.server, 'uri'));
  if (isObject(entry.server)) candidates.push(entry.server);
  if (typeof entry.server === 'string') candidates.push(findEntry(servers, entry.server, 'uri'));
  candidates.push(findEntry(servers, name, 'idp'));
  if (Array.isArray(servers)) candidates.push(servers.find((s): s is Yaml => isObject(s) && s.idp === name));
  for (const server of candidates) {
    if (server && typeof server.url === 'string' && server.url) {
      const url = server.url.replace(/\/+$/, '');
      const version = typeof server.version === 'string' ? server.version : undefined;
      return version && !/\/v\d+$/.test(url) ? `${url}/${version}` : url;
    }
  }
  return undefined;
}
