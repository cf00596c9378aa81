import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { version } from '../../package.json';
import { SkahaClient, normalizeBaseUrl } from '../skaha';
import {
  CredentialsError,
  certificateCredentials,
  discoverCredentials,
  type Credentials,
} from './credentials';
import { defaultStateDir, processAlive } from './local/state';
import { createNodeTransport, type NodeTransport } from './transport';

/** Sent as User-Agent by every client this module makes. */
export const USER_AGENT = `canfar-lab/${version}`;

/** The CANFAR production service (API v1 is appended). */
export const CANFAR_URL = 'https://ws-uv.canfar.net/skaha';

export interface ConnectOptions {
  /**
   * A Skaha URL, `canfar` (the CANFAR service) or `local` (the running local server). Default:
   * `CANFAR_URL`, then the active server of `~/.canfar/config.yaml`, then `local`.
   */
  url?: string;
  /** Bearer token; overrides discovery. */
  token?: string;
  /** PEM path (chain + key); overrides discovery. */
  certificate?: string;
  env?: NodeJS.ProcessEnv;
  /** Home directory for the config file and the proxy certificate. */
  home?: string;
  /** Local server state directory (holding server.json). Default: `defaultStateDir()`. */
  stateDir?: string;
  /** Per-call deadline; default `CANFAR_TIMEOUT` or 30 s. */
  timeoutMs?: number;
  /** Extra trusted CA (PEM text), for servers with a private CA. */
  ca?: string;
  maxConnections?: number;
  /** Cancels every request of this connection (e.g. on Ctrl-C). */
  signal?: AbortSignal;
}

export interface Connection {
  client: SkahaClient;
  credentials: Credentials;
  /** The API base the client talks to, ending in /vN. */
  baseUrl: string;
  /** Which endpoint was chosen: 'local', 'canfar' or 'custom'. */
  endpoint: 'local' | 'canfar' | 'custom';
  transport: NodeTransport;
  close(): Promise<void>;
}

/** Connection problems found before any request: no local server, unusable URL or credentials. */
export class ConnectError extends Error {
  readonly code = 'connect';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectError';
  }
}

/** What `<stateDir>/server.json` says about a running local server. */
export interface LocalServerInfo {
  url: string;
  apiUrl: string;
  pid: number;
  tokenFile: string;
  token: string;
}

/** The local server described by `<stateDir>/server.json`, if it is running. */
export async function findLocalServer(stateDir: string): Promise<LocalServerInfo> {
  const file = join(stateDir, 'server.json');
  let info: Partial<LocalServerInfo> & { pidStart?: string };
  try {
    info = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConnectError(
      missing
        ? `No local server is running (no ${file}). Start one with \`canfar-lab local\`, or give --url.`
        : `Cannot read ${file}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (typeof info.url !== 'string' || typeof info.tokenFile !== 'string') {
    throw new ConnectError(
      `${file} lacks url or tokenFile; restart the local server (\`canfar-lab local\`).`,
    );
  }
  if (typeof info.pid === 'number' && !processAlive(info.pid, info.pidStart)) {
    throw new ConnectError(
      `The local server recorded in ${file} (pid ${info.pid}) is not running. Start one with \`canfar-lab local\`.`,
    );
  }
  let token: string;
  try {
    token = (await readFile(info.tokenFile, 'utf8')).trim();
  } catch (error) {
    throw new ConnectError(
      `Cannot read the local server's token file ${info.tokenFile}: ${(error as Error).message}`,
    );
  }
  return {
    url: info.url,
    apiUrl: info.apiUrl ?? normalizeBaseUrl(info.url),
    pid: info.pid ?? 0,
    tokenFile: info.tokenFile,
    token,
  };
}

/**
 * A SkahaClient over the Node transport, with the endpoint and credentials resolved as documented:
 * URL from the argument, `CANFAR_URL`, the config file, else the local server; credentials from the
 * arguments, else {@link discoverCredentials} (the local server's own token for `local`).
 */
export async function connect(options: ConnectOptions = {}): Promise<Connection> {
  const env = options.env ?? process.env;
  const home = options.home ?? env.HOME;
  const explicit = await explicitCredentials(options);

  let urlSpec = options.url?.trim() || env.CANFAR_URL?.trim();
  let credentials: Credentials | undefined;
  let discoveryError: CredentialsError | undefined;
  if (!urlSpec || urlSpec !== 'local') {
    try {
      credentials = explicit ?? (await discoverCredentials({ env, home }));
    } catch (error) {
      if (!(error instanceof CredentialsError)) throw error;
      discoveryError = error;
    }
    urlSpec ||= credentials?.url;
  }
  urlSpec ||= 'local';

  let endpoint: Connection['endpoint'];
  let baseUrl: string;
  if (urlSpec === 'local') {
    const server = await findLocalServer(options.stateDir ?? defaultStateDir(env, home));
    endpoint = 'local';
    baseUrl = server.apiUrl;
    credentials = explicit ?? {
      kind: 'token',
      source: `local server token (${server.tokenFile})`,
      token: server.token,
    };
  } else {
    endpoint =
      urlSpec === 'canfar' || urlSpec.replace(/\/+$/, '').startsWith(CANFAR_URL) ? 'canfar' : 'custom';
    baseUrl = resolveBaseUrl(urlSpec);
    if (!credentials) throw discoveryError ?? new CredentialsError([]);
  }

  const transport = createNodeTransport({
    token: credentials.kind === 'token' ? credentials.token : undefined,
    certificatePath: credentials.kind === 'certificate' ? credentials.certificatePath : undefined,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    ca: options.ca,
    maxConnections: options.maxConnections,
    env,
  });
  const client = new SkahaClient({ baseUrl, transport, userAgent: USER_AGENT });
  return { client, credentials, baseUrl, endpoint, transport, close: () => transport.close() };
}

/**
 * A user's URL as an API base: `canfar` is the CANFAR service; a URL ending in `/vN` is used as given
 * (the official client's convention for CANFAR_URL); one ending in `/skaha` gets `/v1`.
 */
export function resolveBaseUrl(spec: string): string {
  const url = spec === 'canfar' ? CANFAR_URL : spec.trim().replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectError(
      `Not a URL: ${JSON.stringify(spec)}. Give an http(s) URL, \`canfar\` or \`local\`.`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConnectError(`Unsupported URL scheme in ${JSON.stringify(spec)}: use http or https.`);
  }
  return normalizeBaseUrl(url);
}

async function explicitCredentials(options: ConnectOptions): Promise<Credentials | undefined> {
  if (options.token?.trim()) return { kind: 'token', source: 'token option', token: options.token.trim() };
  if (options.certificate) return certificateCredentials(options.certificate, 'certificate option');
  return undefined;
}
