import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import type { TLSSocket } from 'node:tls';

import { FaultInjector, preemptsSessions, resolveFaults } from './faults';
import {
  GIB_IN_GB,
  HttpError,
  IMAGES,
  REPOSITORIES,
  buildContext,
  checkSessionIdLabel,
  connectUrl,
  eventsTable,
  parseCreateRequest,
  productionContext,
  sessionJson,
  type LocalContext,
} from './protocol';
import { SessionManager } from './sessions';
import {
  defaultStateDir,
  ensureStateDirs,
  ensureToken,
  processAlive,
  stateLayout,
  writeFileAtomic,
} from './state';
import type { LocalServer, LocalServerOptions } from './types';
import { SESSION_TYPES } from './types';

const MAX_BODY_BYTES = 1024 * 1024;

const pem = (value: string): string => (value.includes('-----BEGIN') ? value : readFileSync(value, 'utf8'));

/**
 * Starts the local Skaha-compatible server: Skaha v1 under `<url>/v1`, headless sessions run as local
 * processes. Resolves once it listens and `<stateDir>/server.json` is written.
 */
export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const log = options.log ?? (() => undefined);
  const stateDir = options.stateDir ?? defaultStateDir();
  const layout = stateLayout(stateDir);
  ensureStateDirs(layout);
  refuseIfAnotherServer(layout.serverFile, stateDir);

  const faults = resolveFaults(options.faults, process.env);
  const injector = faults ? new FaultInjector(faults) : undefined;
  const token = await ensureToken(layout.tokenFile, options.token);
  const tokenBuffer = Buffer.from(token);
  const user = options.user ?? os.userInfo().username;
  const home = options.home ?? os.homedir();
  if (!existsSync(home))
    throw new Error(`The sessions' home directory ${home} does not exist: create it or choose another home.`);
  const host = options.host ?? '127.0.0.1';
  const capacityCores = positive(options.cores ?? os.availableParallelism(), 'cores');
  const capacityRamGB = positive(options.ramGB ?? Math.floor(os.totalmem() / 1e9), 'ramGB');
  if (capacityRamGB < GIB_IN_GB) {
    throw new Error(
      `ramGB must be at least ${GIB_IN_GB.toFixed(2)} (1 GiB, the smallest session), got ${capacityRamGB}.`,
    );
  }
  const ttlSeconds = nonNegative(options.ttlSeconds ?? 3600, 'ttlSeconds');
  const maxInteractive = options.maxInteractiveSessions ?? 3;
  if (options.context !== undefined && options.context !== 'production' && options.context !== 'capacity')
    throw new Error(`context must be 'production' or 'capacity', got ${JSON.stringify(options.context)}.`);
  const context: LocalContext =
    options.context === 'capacity'
      ? buildContext(capacityCores, capacityRamGB, maxInteractive)
      : productionContext(maxInteractive);
  const ids = {
    uid: String(process.getuid?.() ?? 1000),
    gid: String(process.getgid?.() ?? 1000),
    groups: (process.getgroups?.() ?? []).filter((g) => g !== process.getgid?.()),
  };

  const manager = new SessionManager({
    layout,
    capacityCores,
    capacityRamGB,
    ttlSeconds,
    home,
    user,
    killGraceMs: nonNegative(options.killGraceSeconds ?? 5, 'killGraceSeconds') * 1000,
    hostname: host,
    container: options.container,
    preemption:
      injector && preemptsSessions(faults)
        ? (name, attempt, injectedSoFar) => {
            const delayMs = injector.preemptionDelayMs(name, attempt, injectedSoFar);
            if (delayMs === undefined) return undefined;
            const why =
              faults?.preemptAfterSeconds !== undefined
                ? `preemptAfterSeconds=${faults.preemptAfterSeconds}`
                : `preemptRate=${faults?.preemptRate}, seed ${injector.seedValue}, attempt ${attempt}, ` +
                  `${(delayMs / 1000).toFixed(3)} s after its start`;
            return { delayMs, why, holdMs: (faults?.preemptRequeueSeconds ?? 2) * 1000 };
          }
        : undefined,
    preemptForInteractive: options.preemptForInteractive ?? true,
    log,
  });
  // Sessions are loaded (and previous processes adopted or settled) only once the port is ours: a
  // server that fails to start must not touch the sessions of the state directory. Requests wait for it.
  let markLoaded!: (value: Promise<void>) => void;
  const loaded = new Promise<void>((resolve) => (markLoaded = resolve));
  loaded.catch(() => undefined); // A failed load is reported by startLocalServer itself.

  let origin = '';
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError && !res.headersSent) {
        sendText(res, error.status, error.message, error.headers);
        return;
      }
      log(`internal error on ${req.method} ${req.url}: ${(error as Error).stack ?? String(error)}`);
      if (!res.headersSent) sendText(res, 500, `internal error: ${(error as Error).message}`);
      else res.destroy();
    });
  };

  const authenticate = (req: http.IncomingMessage): string | undefined => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (match) {
      const given = Buffer.from(match[1].trim());
      if (given.length === tokenBuffer.length && timingSafeEqual(given, tokenBuffer)) return user;
    }
    const socket = req.socket as TLSSocket;
    if (options.tls?.ca && socket.authorized) {
      const cn = socket.getPeerCertificate()?.subject?.CN;
      if (cn) return Array.isArray(cn) ? cn[0] : cn;
    }
    return undefined;
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    await loaded;
    const url = new URL(req.url ?? '/', 'http://local');
    const pathname = url.pathname.replace(/\/+$/, '') || '/';
    if (injector?.applies(pathname)) {
      if (injector.options.latencyMs)
        await new Promise((resolve) => setTimeout(resolve, injector.options.latencyMs));
      const fault = injector.requestFault();
      if (fault.kind === 'drop') {
        req.socket.destroy();
        return;
      }
      if (fault.kind === 'unavailable') {
        const retryAfter = String(injector.options.retryAfterSeconds ?? 1);
        sendText(res, 503, 'Service temporarily unavailable (injected fault: unavailableRate)', {
          'Retry-After': retryAfter,
        });
        return;
      }
      if (fault.kind === 'server-error') {
        sendText(res, 500, 'Internal server error (injected fault: serverErrorRate)');
        return;
      }
    }

    // VOSI availability is public on the service too.
    if (pathname === '/skaha/availability' && req.method === 'GET') {
      send(res, 200, 'text/xml', availabilityXml(manager));
      return;
    }
    // connectURLs of interactive sessions point here; a browser following one gets an explanation.
    if (pathname.startsWith('/session/')) {
      sendText(
        res,
        404,
        'Interactive sessions are recorded only: the local server runs no notebook, desktop or other web application.',
      );
      return;
    }
    const caller = authenticate(req);
    if (caller === undefined) {
      sendText(res, 401, 'Unauthorized', { 'WWW-Authenticate': 'Bearer' });
      return;
    }
    const body = await readBody(req);
    const match = /^\/skaha\/v1\/(session|context|image|repository)(?:\/([^/]+))?(\/.*)?$/.exec(pathname);
    if (!match) {
      sendText(
        res,
        404,
        `not found: ${pathname} (this server answers /skaha/v1/session, /context, /image, /repository and /skaha/availability)`,
      );
      return;
    }
    const [, resource, rawId, extra] = match;
    const id = rawId === undefined ? undefined : decodeURIComponent(rawId);
    const params = new URLSearchParams(url.search);
    const contentType = req.headers['content-type'] ?? '';
    if (
      body.length > 0 &&
      (contentType === '' || contentType.startsWith('application/x-www-form-urlencoded'))
    ) {
      // The service reads parameters from the query string and the form body alike.
      for (const [key, value] of new URLSearchParams(body)) params.append(key, value);
    }
    try {
      if (resource === 'session') {
        if (extra !== undefined)
          throw new HttpError(400, `Invalid request: ${pathname.slice('/skaha/v1/session/'.length)}`);
        await sessionRoute(req.method ?? 'GET', id, params, caller, res);
      } else if (id !== undefined) {
        throw new HttpError(404, `not found: ${pathname}`);
      } else if (req.method !== 'GET') {
        throw new HttpError(405, `${req.method} not allowed on /${resource}: use GET`, { Allow: 'GET' });
      } else if (resource === 'context') {
        sendJson(res, context);
      } else if (resource === 'repository') {
        sendJson(res, REPOSITORIES);
      } else {
        const type = params.get('type');
        if (type !== null && !(SESSION_TYPES as readonly string[]).includes(type))
          throw new HttpError(400, `unknown type: ${type}`);
        sendJson(
          res,
          type === null ? IMAGES : IMAGES.filter((image) => (image.types as string[]).includes(type)),
        );
      }
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      sendText(res, error.status, error.message, error.headers);
    }
  }

  async function sessionRoute(
    method: string,
    id: string | undefined,
    params: URLSearchParams,
    caller: string,
    res: http.ServerResponse,
  ): Promise<void> {
    const mine = (sessionId: string) => {
      const record = manager.records.get(sessionId);
      return record && record.userid === caller ? record : undefined;
    };
    if (method === 'POST' && id === undefined) {
      const request = parseCreateRequest(params, context, caller, manager.activeInteractive(caller));
      const record = await manager.create(request, caller, (newId, type) =>
        connectUrl(origin, type, newId, home),
      );
      const fault = injector?.applies('/skaha/v1/session') ? injector.createFault() : undefined;
      if (fault === 'drop') {
        res.socket?.destroy();
        return;
      }
      if (fault === 'server-error') {
        sendText(
          res,
          500,
          `Internal server error after the session was created (injected fault: createThenFailRate)`,
        );
        return;
      }
      sendText(res, 200, record.id);
      return;
    }
    if (method === 'POST') {
      const action = params.get('action');
      if (!action) throw new HttpError(400, 'Cannot modify an existing session');
      if (action.toLowerCase() !== 'renew') throw new HttpError(400, 'unrecognized action');
      checkSessionIdLabel(id!);
      if (!mine(id!)) throw new HttpError(400, `No active job for user ${caller} with session ${id}`);
      await manager.renew(id!, caller);
      send(res, 200, 'text/plain', '');
      return;
    }
    if (method === 'DELETE') {
      if (id === undefined) throw new HttpError(400, 'Cannot kill all sessions.');
      if (mine(id)) await manager.delete(id);
      send(res, 200, 'text/plain', '');
      return;
    }
    if (method !== 'GET')
      throw new HttpError(405, `${method} not allowed on /session`, { Allow: 'GET, POST, DELETE' });
    // Views: 'stats', 'all', 'logs', 'events' are matched exactly (case-sensitive), 'interactive' in any
    // case; an unknown view is ignored.
    const view = params.get('view');
    if (id === undefined) {
      if (view === 'stats') {
        sendJson(res, stats());
        return;
      }
      const status = params.get('status')?.toLowerCase();
      if (view === 'all') {
        // Every user's sessions, reduced to what the portal's load view shows.
        const type = params.get('type')?.toLowerCase();
        const all = [...manager.records.values()]
          .filter((r) => !type || r.type === type)
          .filter((r) => !status || r.status.toLowerCase() === status)
          .map((r) => ({
            userid: r.userid,
            type: r.type,
            status: r.status,
            ...(r.startTime ? { startTime: r.startTime } : {}),
          }));
        sendJson(res, all);
        return;
      }
      const interactive = view?.toLowerCase() === 'interactive';
      // view=interactive lists the non-headless sessions and ignores `type`.
      const type = interactive ? undefined : params.get('type')?.toLowerCase();
      const list = [...manager.records.values()]
        .filter((r) => r.userid === caller)
        .filter((r) => (interactive ? r.type !== 'headless' : !type || r.type === type))
        .filter((r) => !status || r.status.toLowerCase() === status)
        .map((r) => sessionJson(r, ids));
      sendJson(res, list);
      return;
    }
    const record = mine(id);
    if (view === 'logs') {
      send(res, 200, 'text/plain', record ? await manager.readLog(id) : '');
      return;
    }
    checkSessionIdLabel(id);
    if (!record) throw new HttpError(404, `session ${id} not found.`);
    if (view === 'events') {
      if (!record.scheduled) throw new HttpError(404, `session ${id} not found.`);
      send(res, 200, 'text/plain', eventsTable(record.events));
      return;
    }
    sendJson(res, sessionJson(record, ids));
  }

  function stats(): unknown {
    const { cores, ramGB, usedCores, usedRamGB } = manager.capacity;
    const gb = (n: number) => `${Number(n.toFixed(2))}G`;
    return {
      cores: {
        requestedCPUCores: usedCores,
        cpuCoresAvailable: cores,
        maxCPUCores: { cpuCores: context.cores.defaultLimit, withRam: `${context.memoryGB.defaultLimit}Gi` },
      },
      ram: {
        requestedRAM: gb(usedRamGB),
        ramAvailable: gb(ramGB),
        maxRAM: { ram: `${context.memoryGB.defaultLimit}Gi`, withCPUCores: context.cores.defaultLimit },
      },
    };
  }

  const server = options.tls
    ? https.createServer(
        {
          cert: pem(options.tls.cert),
          key: pem(options.tls.key),
          ...(options.tls.ca
            ? { ca: pem(options.tls.ca), requestCert: true, rejectUnauthorized: false }
            : {}),
        },
        handler,
      )
    : http.createServer(handler);
  // Clients keep connections alive; a short idle timeout keeps close() quick.
  server.keepAliveTimeout = 5000;

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const e = error as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE')
      throw new Error(
        `Port ${options.port} on ${host} is already in use: choose another --port, or 0 for any free port.`,
      );
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  origin = `${options.tls ? 'https' : 'http'}://${hostInUrl}:${port}`;
  const loading = manager.load();
  markLoaded(loading);
  try {
    await loading;
  } catch (error) {
    server.close();
    server.closeAllConnections();
    throw error;
  }
  const baseUrl = `${origin}/skaha`;
  const serverInfo = { url: baseUrl, apiUrl: `${baseUrl}/v1`, pid: process.pid, tokenFile: layout.tokenFile };
  await writeFileAtomic(layout.serverFile, `${JSON.stringify(serverInfo)}\n`);
  log(`listening on ${baseUrl} (state ${stateDir})`);

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    apiUrl: `${baseUrl}/v1`,
    token,
    tokenFile: layout.tokenFile,
    stateDir,
    capacity: { cores: capacityCores, ramGB: capacityRamGB },
    preempt: (id, preemptOptions = {}) =>
      manager.preemptNow(id, nonNegative(preemptOptions.requeueSeconds ?? 0, 'requeueSeconds') * 1000),
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await manager.close();
        server.closeAllConnections();
        await stopped;
        removeServerFile(layout.serverFile);
        log('stopped');
      })()),
  };
}

function removeServerFile(file: string): void {
  try {
    const info = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number };
    if (info.pid === process.pid) unlinkSync(file);
  } catch {
    // Absent or not ours.
  }
}

/** Two servers on one state directory would both run its queue: refuse, and say which one holds it. */
function refuseIfAnotherServer(serverFile: string, stateDir: string): void {
  if (!existsSync(serverFile)) return;
  try {
    const info = JSON.parse(readFileSync(serverFile, 'utf8')) as { pid?: number; url?: string };
    if (typeof info.pid === 'number' && info.pid !== process.pid && processAlive(info.pid)) {
      throw new Error(
        `Another local server (pid ${info.pid}, ${info.url}) already uses the state directory ${stateDir}: use it, stop it, or choose another --state.`,
      );
    }
  } catch (error) {
    if (error instanceof SyntaxError) return; // A torn or foreign file: the running check cannot apply.
    throw error;
  }
}

function positive(value: number, name: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0))
    throw new Error(`${name} must be a positive number, got ${value}.`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0))
    throw new Error(`${name} must be a number >= 0, got ${value}.`);
  return value;
}

function availabilityXml(manager: SessionManager): string {
  const running = [...manager.records.values()].filter((r) => r.status === 'Running').length;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">\n' +
    '  <vosi:available>true</vosi:available>\n' +
    `  <vosi:note>local Skaha-compatible server: ${running} running, ${manager.queued} queued</vosi:note>\n` +
    '</vosi:availability>\n'
  );
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(
  res: http.ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function sendText(
  res: http.ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  send(res, status, 'text/plain', `${message}\n`, headers);
}

function sendJson(res: http.ServerResponse, value: unknown): void {
  send(res, 200, 'application/json', JSON.stringify(value));
}
