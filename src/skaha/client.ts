/**
 * SkahaClient: the Skaha v1 calls over an injected Transport (a fetch-shaped function), so the same client runs
 * in the browser (through the Jupyter server's proxy), in Node (undici with mTLS or a token) and in tests.
 * It encodes requests exactly as the service reads them and turns every answer into typed data or a SkahaError.
 */
import { errorFromResponse, SkahaError, SkahaTransportError } from './errors';
import { parseEventsTable } from './event-table';
import {
  contextSchema,
  imageListSchema,
  parseBody,
  repositoriesSchema,
  sessionListSchema,
  platformSessionListSchema,
  sessionSchema,
  statsSchema,
} from './schemas';
import type {
  PlatformStats,
  Session,
  PlatformSession,
  SessionEvent,
  SessionKind,
  SessionSpec,
  SessionStatus,
  SkahaContext,
  SkahaImage,
} from './types';
import { validateSessionSpec } from './validate';

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface TransportRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** True when repeating the request cannot do harm (GET, DELETE): only those may be retried blindly. */
  idempotent: boolean;
}

export interface TransportResponse {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** Sends one request. May throw SkahaTransportError (with `sent`) when no HTTP answer came back. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

export interface SkahaClientOptions {
  /** The API base, ending in the version: `https://ws-uv.canfar.net/skaha/v1` (see normalizeBaseUrl). */
  baseUrl: string;
  transport: Transport;
  /** Sent as User-Agent where the platform allows it (not in browsers). */
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface SessionFilter {
  type?: SessionKind;
  status?: SessionStatus;
  /** 'interactive': the caller's non-headless sessions (the service then ignores `type`). */
  view?: 'interactive';
}

/** Filter of listAll (`view=all`). */
export interface PlatformSessionFilter {
  type?: SessionKind;
  status?: SessionStatus;
}

/**
 * The API base URL for a service URL: `.../skaha` gets `/v1` appended; a URL already ending in a version
 * (`.../skaha/v1`, the official client's CANFAR_URL convention) is used as given. Trailing slashes are dropped.
 */
export function normalizeBaseUrl(url: string): string {
  const trimmed = url.trim();
  let parsed: URL;
  try {
    parsed = new URL(trimmed);
  } catch {
    throw new SkahaError('invalid-input', `URL ${JSON.stringify(url)} is not an absolute URL`, {
      hint: 'Give the service URL, e.g. https://ws-uv.canfar.net/skaha',
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SkahaError('invalid-input', `URL ${JSON.stringify(url)} must use http or https`, {
      hint: 'Give the service URL, e.g. https://ws-uv.canfar.net/skaha',
    });
  }
  if (parsed.search) {
    throw new SkahaError('invalid-input', `URL ${JSON.stringify(url)} must not have a query string`, {
      hint: 'Give the service URL, e.g. https://ws-uv.canfar.net/skaha',
    });
  }
  const base = `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  return /\/v\d+$/.test(base) ? base : `${base}/v1`;
}

/** base64 of the UTF-8 bytes of `text` (btoa alone only takes Latin-1). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * The form body of `POST /session` for `spec`: fields as the service reads them, `env` repeated as `KEY=VALUE`,
 * `args` joined by single spaces, and no `gpus` unless some are asked for (the service refuses `gpus=0`).
 */
export function encodeCreateRequest(spec: SessionSpec): { body: string; headers: Record<string, string> } {
  const form = new URLSearchParams();
  form.append('name', spec.name);
  form.append('image', spec.image);
  form.append('type', spec.kind ?? 'headless');
  if (spec.cores !== undefined) form.append('cores', String(spec.cores));
  if (spec.ram !== undefined) form.append('ram', String(spec.ram));
  if (spec.gpus !== undefined && spec.gpus > 0) form.append('gpus', String(spec.gpus));
  if (spec.cmd !== undefined) form.append('cmd', spec.cmd);
  if (spec.args && spec.args.length > 0) form.append('args', spec.args.join(' '));
  for (const [key, value] of Object.entries(spec.env ?? {})) form.append('env', `${key}=${value}`);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (spec.registryAuth) {
    headers['x-skaha-registry-auth'] = base64Utf8(
      `${spec.registryAuth.username}:${spec.registryAuth.secret}`,
    );
  }
  return { body: form.toString(), headers };
}

interface Call {
  method: HttpMethod;
  path: string;
  query?: Record<string, string | undefined>;
  body?: string;
  headers?: Record<string, string>;
  accept: 'application/json' | 'text/plain';
  /** Named in errors: "create session 'x'", "get session abc". */
  operation: string;
  signal?: AbortSignal;
}

export class SkahaClient {
  readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly userAgent?: string;

  constructor(options: SkahaClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.transport = options.transport;
    if (options.userAgent !== undefined) this.userAgent = options.userAgent;
  }

  /** Launch one session; resolves to its id. The spec is validated first (nothing is sent when it is wrong). */
  async create(spec: SessionSpec, options: CallOptions = {}): Promise<string> {
    validateSessionSpec(spec);
    const { body, headers } = encodeCreateRequest(spec);
    const operation = `create session ${JSON.stringify(spec.name)}`;
    const text = await this.call({
      method: 'POST',
      path: '/session',
      body,
      headers,
      accept: 'text/plain',
      operation,
      signal: options.signal,
    });
    const id = text.trim().split(/\s+/, 1)[0] ?? '';
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) {
      throw new SkahaError(
        'invalid-response',
        `${operation}: expected the new session id, got ${JSON.stringify(text.slice(0, 120))}`,
      );
    }
    return id;
  }

  /**
   * The caller's sessions, optionally filtered by kind and status (the service matches them exactly,
   * ignoring case); `view: 'interactive'` for the non-headless ones only (`type` is then not sent).
   */
  async list(filter: SessionFilter = {}, options: CallOptions = {}): Promise<Session[]> {
    const interactive = filter.view === 'interactive';
    const operation = interactive ? 'list interactive sessions' : 'list sessions';
    const text = await this.call({
      method: 'GET',
      path: '/session',
      query: {
        view: interactive ? 'interactive' : undefined,
        type: interactive ? undefined : filter.type,
        status: filter.status,
      },
      accept: 'application/json',
      operation,
      signal: options.signal,
    });
    const sessions = this.parseList(text, operation);
    // A server that does not know the view ignores it and lists headless sessions too.
    return interactive ? sessions.filter((s) => s.type !== 'headless') : sessions;
  }

  /**
   * `view=all`: every user's sessions in the short form {userid, type, status, startTime} (the platform's
   * load as the portal shows it), optionally filtered by kind and status.
   */
  async listAll(filter: PlatformSessionFilter = {}, options: CallOptions = {}): Promise<PlatformSession[]> {
    const operation = "list every user's sessions";
    const text = await this.call({
      method: 'GET',
      path: '/session',
      query: { view: 'all', type: filter.type, status: filter.status },
      accept: 'application/json',
      operation,
      signal: options.signal,
    });
    return parseBody(platformSessionListSchema, text, operation);
  }

  /**
   * The list's sessions, each validated once for as long as the service sends it unchanged (the same
   * object is returned again): at 1,000 sessions, validating every one at every poll was most of a
   * browser poll's main-thread time. Callers treat sessions as read-only. Anything unexpected is
   * reported as before, by validating the whole list.
   */
  private parseList(text: string, operation: string): Session[] {
    // The same answer as last time (a poll that finds nothing new): nothing to parse at all.
    if (text === this.listedText) return [...this.listed.values()];
    let wire: unknown;
    try {
      wire = JSON.parse(text);
    } catch {
      return parseBody(sessionListSchema, text, operation);
    }
    if (!Array.isArray(wire)) return parseBody(sessionListSchema, text, operation);
    const listed = new Map<string, Session>();
    const sessions: Session[] = [];
    for (const item of wire) {
      const key = JSON.stringify(item);
      let session = listed.get(key) ?? this.listed.get(key);
      if (!session) {
        const result = sessionSchema.safeParse(item);
        if (!result.success) return parseBody(sessionListSchema, text, operation);
        session = result.data;
      }
      listed.set(key, session);
      sessions.push(session);
    }
    this.listed = listed;
    // Only when every session is listed once: the map then holds the whole answer, in order.
    this.listedText = listed.size === sessions.length ? text : undefined;
    return sessions;
  }

  /** The sessions of the last list, by their JSON as the service sent them. */
  private listed = new Map<string, Session>();
  private listedText?: string;

  async get(id: string, options: CallOptions = {}): Promise<Session> {
    const operation = `get session ${id}`;
    const text = await this.call({
      method: 'GET',
      path: sessionPath(id),
      accept: 'application/json',
      operation,
      signal: options.signal,
    });
    return parseBody(sessionSchema, text, operation);
  }

  /** The whole log so far (the service has no offset and no follow); empty until the pod exists. */
  async logs(id: string, options: CallOptions = {}): Promise<string> {
    return this.call({
      method: 'GET',
      path: sessionPath(id),
      query: { view: 'logs' },
      accept: 'text/plain',
      operation: `logs of session ${id}`,
      signal: options.signal,
    });
  }

  /** The events table as the service wrote it. 404 when there is no pod (queued, or cleaned up). */
  async eventsText(id: string, options: CallOptions = {}): Promise<string> {
    return this.call({
      method: 'GET',
      path: sessionPath(id),
      query: { view: 'events' },
      accept: 'text/plain',
      operation: `events of session ${id}`,
      signal: options.signal,
    });
  }

  async events(id: string, options: CallOptions = {}): Promise<SessionEvent[]> {
    return parseEventsTable(await this.eventsText(id, options));
  }

  /** Delete a session. The service answers 200 even for unknown ids. */
  async delete(id: string, options: CallOptions = {}): Promise<void> {
    await this.call({
      method: 'DELETE',
      path: sessionPath(id),
      accept: 'text/plain',
      operation: `delete session ${id}`,
      signal: options.signal,
    });
  }

  /** Extend a session's expiry. 400 when it has no active job. */
  async renew(id: string, options: CallOptions = {}): Promise<void> {
    const body = new URLSearchParams({ action: 'renew' }).toString();
    await this.call({
      method: 'POST',
      path: sessionPath(id),
      body,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      accept: 'text/plain',
      operation: `renew session ${id}`,
      signal: options.signal,
    });
  }

  /** The platform's load. 503 when the cluster's metrics are unavailable. */
  async stats(options: CallOptions = {}): Promise<PlatformStats> {
    const text = await this.call({
      method: 'GET',
      path: '/session',
      query: { view: 'stats' },
      accept: 'application/json',
      operation: 'platform stats',
      signal: options.signal,
    });
    return parseBody(statsSchema, text, 'platform stats');
  }

  /** The cores, RAM and GPU values a create may ask for. */
  async context(options: CallOptions = {}): Promise<SkahaContext> {
    const text = await this.call({
      method: 'GET',
      path: '/context',
      accept: 'application/json',
      operation: 'resource context',
      signal: options.signal,
    });
    return parseBody(contextSchema, text, 'resource context');
  }

  async images(type?: SessionKind, options: CallOptions = {}): Promise<SkahaImage[]> {
    const text = await this.call({
      method: 'GET',
      path: '/image',
      query: { type },
      accept: 'application/json',
      operation: type ? `list ${type} images` : 'list images',
      signal: options.signal,
    });
    return parseBody(imageListSchema, text, 'list images');
  }

  /** The registry hosts images must come from. */
  async repositories(options: CallOptions = {}): Promise<string[]> {
    const text = await this.call({
      method: 'GET',
      path: '/repository',
      accept: 'application/json',
      operation: 'list registries',
      signal: options.signal,
    });
    return parseBody(repositoriesSchema, text, 'list registries');
  }

  private async call(call: Call): Promise<string> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(call.query ?? {}))
      if (value !== undefined) query.append(key, value);
    const search = query.toString();
    const url = `${this.baseUrl}${call.path}${search ? `?${search}` : ''}`;
    const headers: Record<string, string> = { Accept: call.accept, ...call.headers };
    if (this.userAgent) headers['User-Agent'] = this.userAgent;
    const request: TransportRequest = {
      method: call.method,
      url,
      headers,
      idempotent: call.method !== 'POST',
    };
    if (call.body !== undefined) request.body = call.body;
    if (call.signal) request.signal = call.signal;

    let response: TransportResponse;
    try {
      response = await this.transport(request);
    } catch (error) {
      if (error instanceof SkahaError) throw error;
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      // A transport that does not speak SkahaTransportError: assume the worst, the request may have arrived.
      const reason = error instanceof Error ? error.message : String(error);
      throw new SkahaTransportError(`${call.operation}: ${reason}`, { sent: true, cause: error });
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      if (call.signal?.aborted) throw call.signal.reason ?? error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new SkahaTransportError(`${call.operation}: the answer was cut off (${reason})`, {
        sent: true,
        cause: error,
      });
    }
    if (response.status >= 200 && response.status < 300) return text;
    throw errorFromResponse(call.operation, response.status, text, response.headers.get('retry-after'));
  }
}

function sessionPath(id: string): string {
  if (typeof id !== 'string' || id.trim() === '') {
    throw new SkahaError('invalid-input', `session id ${JSON.stringify(id)} is empty`);
  }
  return `/session/${encodeURIComponent(id.trim())}`;
}
