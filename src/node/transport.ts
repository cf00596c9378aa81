import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import { SkahaTransportError, type Transport, type TransportRequest, type TransportResponse } from '../skaha';

/** Options of {@link createNodeTransport}; every one has a default. */
export interface NodeTransportOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** One PEM file holding the client certificate chain AND its private key (a CADC proxy certificate). */
  certificatePath?: string;
  /** Extra trusted CA certificates (PEM text) for the server's certificate; the system roots stay trusted. */
  ca?: string;
  /** Deadline of one call, retries and body included. Default: `CANFAR_TIMEOUT` seconds from the env, else 30 s. */
  timeoutMs?: number;
  /** Connections kept open per origin by the one keep-alive Agent. Default 32 (the replica loop's concurrency). */
  maxConnections?: number;
  /** Extra attempts of an idempotent request after a connection error or a 503 with Retry-After. Default 3. */
  retries?: number;
  /** Longest Retry-After honoured, in seconds; a longer one returns the 503 to the caller. Default 10. */
  maxRetryAfterSeconds?: number;
  /** Cancels every call made through this transport (e.g. on Ctrl-C), in addition to each request's own. */
  signal?: AbortSignal;
  /** Environment read for `CANFAR_TIMEOUT`. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

export type NodeTransport = Transport & {
  /** Closes the keep-alive connections; calls made afterwards fail. */
  close(): Promise<void>;
  /** The undici dispatcher, for callers that want to share the pool. */
  readonly dispatcher: Dispatcher;
};

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * A Skaha {@link Transport} over ONE undici keep-alive Agent: a few sockets are reused for every call
 * (the replica loop sends hundreds of requests, and a TLS handshake per request costs more than the request).
 *
 * Retries: only idempotent requests (GET, DELETE) are retried, on connection errors and on 503 with a
 * Retry-After no longer than `maxRetryAfterSeconds`. A POST is never retried here: whether it created a
 * session is unknown after some failures, and only the caller can reconcile (see createReplicas).
 * Every response body is read in full before the call returns, so no socket is left half-read.
 */
export function createNodeTransport(options: NodeTransportOptions = {}): NodeTransport {
  const timeoutMs = options.timeoutMs ?? timeoutFromEnv(options.env ?? process.env);
  const retries = options.retries ?? 3;
  const maxRetryAfterMs = (options.maxRetryAfterSeconds ?? 10) * 1000;
  const connect: Agent.Options['connect'] = {};
  if (options.certificatePath || options.ca) {
    const pem = options.certificatePath ? readPem(options.certificatePath) : undefined;
    // Built once: parsing the key and the CA list for every new socket would cost milliseconds each.
    // The proxy-certificate convention: one file, used as both chain and key; TLS picks the blocks it needs.
    const secureContext = createSecureContext({
      ...(pem ? { cert: pem, key: pem } : {}),
      ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}),
    });
    Object.assign(connect, { secureContext });
  }
  const agent = new Agent({
    connections: options.maxConnections ?? 32,
    keepAliveTimeout: 10_000,
    // Our own deadline covers the whole call; these only stop a stalled socket from outliving it.
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: { ...connect, timeout: Math.min(timeoutMs, 10_000) },
  });
  const baseHeaders: Record<string, string> = {};
  if (options.token) baseHeaders.authorization = `Bearer ${options.token}`;

  const transport = (async (request: TransportRequest): Promise<TransportResponse> => {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signals = [request.signal, options.signal, deadline].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const signal = signals.length > 1 ? AbortSignal.any(signals) : deadline;
    const headers = { ...baseHeaders, ...request.headers };
    const mayRetry = request.idempotent && request.method !== 'POST';
    for (let attempt = 0; ; attempt++) {
      let result: RawResponse;
      try {
        result = await dispatchOnce(agent, request, headers, signal);
      } catch (error) {
        const failure = describeFailure(error, request, signal, deadline, timeoutMs);
        if (mayRetry && attempt < retries && failure.retryable && !signal.aborted) {
          await sleep(backoffMs(attempt), signal).catch(() => undefined);
          if (!signal.aborted) continue;
        }
        throw failure.error;
      }
      if (result.status === 503 && mayRetry && attempt < retries) {
        const waitMs = retryAfterMs(result.headers.get('retry-after'));
        if (waitMs !== undefined && waitMs <= maxRetryAfterMs) {
          try {
            await sleep(waitMs, signal);
            continue;
          } catch {
            // The deadline fell during the wait: the caller gets the 503 and its Retry-After.
          }
        }
      }
      return result;
    }
  }) as NodeTransport;
  Object.defineProperty(transport, 'dispatcher', { value: agent });
  transport.close = () => agent.close();
  return transport;
}

/** Response headers by lower-cased name (repeated headers joined with ', '). */
class ResponseHeaders {
  private readonly values = new Map<string, string>();
  set(name: string, value: string): void {
    this.values.set(name.toLowerCase(), value);
  }
  get(name: string): string | null {
    return this.values.get(name.toLowerCase()) ?? null;
  }
}

interface RawResponse extends TransportResponse {
  headers: ResponseHeaders;
}

/** Thrown inside dispatchOnce: carries whether the request line had been handed to a socket. */
class AttemptError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly started: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * One request over the Agent with undici's handler API, so that we know whether the request reached a
 * socket (`onRequestStart` is called right before it is written): before that point a failure means the
 * server never saw it, after it the request may have been processed.
 */
function dispatchOnce(
  agent: Agent,
  request: TransportRequest,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<RawResponse> {
  const url = new URL(request.url);
  return new Promise<RawResponse>((resolve, reject) => {
    let started = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | undefined;
    let status = 0;
    const responseHeaders = new ResponseHeaders();
    const chunks: Buffer[] = [];
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(new AttemptError(error, started));
      else {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status, headers: responseHeaders, text: async () => body });
      }
    };
    const onAbort = () => {
      // Before the request reached a socket undici cannot cancel it yet; it is aborted in onRequestStart.
      controller?.abort(signal.reason);
      finish(signal.reason);
    };
    if (signal.aborted) return finish(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        if (signal.aborted) return ctrl.abort(signal.reason);
        started = true;
      },
      onResponseStart(_ctrl, statusCode, rawHeaders) {
        status = statusCode;
        for (const [name, value] of Object.entries(rawHeaders)) {
          responseHeaders.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
        }
      },
      onResponseData(_ctrl, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        finish();
      },
      onResponseError(_ctrl, error) {
        finish(error);
      },
    };
    try {
      agent.dispatch(
        {
          origin: url.origin,
          path: url.pathname + url.search,
          method: request.method,
          headers,
          body: request.body,
        },
        handler,
      );
    } catch (error) {
      finish(error);
    }
  });
}

/** Connection-level failures worth another attempt for an idempotent request. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Failures that happen before a byte of the request is written, whatever the `started` flag says. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function describeFailure(
  error: unknown,
  request: TransportRequest,
  signal: AbortSignal,
  deadline: AbortSignal,
  timeoutMs: number,
): { error: Error; retryable: boolean } {
  const attempt = error instanceof AttemptError ? error : new AttemptError(error, false);
  const cause = attempt.cause;
  const code = errorCode(cause);
  const target = `${request.method} ${request.url}`;
  const sent = attempt.started && !NOT_SENT_CODES.has(code ?? '');
  const fate = sent
    ? request.method === 'POST'
      ? ' The request may have reached the server: list the sessions before creating again.'
      : ' The request may have reached the server.'
    : ' The request was not sent.';
  let message: string;
  if (deadline.aborted && signal.aborted) {
    message = `${target}: no complete answer within ${timeoutMs / 1000} s (set CANFAR_TIMEOUT to wait longer).${fate}`;
  } else if (signal.aborted) {
    message = `${target}: cancelled.${fate}`;
  } else if (code === 'ECONNREFUSED') {
    message = `${target}: connection refused by ${new URL(request.url).host}; is the server running and the URL right?`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    message = `${target}: cannot resolve host ${new URL(request.url).hostname} (${code}); check the URL and the network.`;
  } else if (code && /CERT|SSL|TLS|ERR_OSSL|SELF_SIGNED|UNABLE_TO/i.test(code)) {
    message = `${target}: TLS failed (${code}: ${messageOf(cause)}); check the certificate file and the server URL.`;
  } else {
    message = `${target}: ${messageOf(cause)}${code ? ` (${code})` : ''}.${fate}`;
  }
  return {
    error: new SkahaTransportError(message, { sent, cause }),
    retryable: code !== undefined && RETRYABLE_CODES.has(code),
  };
}

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Exponential backoff with full jitter: 0..200 ms, 0..400 ms, ... capped at 3 s. */
function backoffMs(attempt: number): number {
  return Math.random() * Math.min(3000, 200 * 2 ** attempt);
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `CANFAR_TIMEOUT` (seconds, as the official client reads it) in ms; 30 s when unset or not a positive number. */
export function timeoutFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.CANFAR_TIMEOUT?.trim();
  if (!raw) return DEFAULT_TIMEOUT_MS;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : DEFAULT_TIMEOUT_MS;
}

function readPem(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (error) {
    throw new SkahaTransportError(`cannot read the certificate file ${path}: ${messageOf(error)}`, {
      sent: false,
      cause: error,
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----') || !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new SkahaTransportError(
      `${path} must hold a PEM certificate chain AND its private key (a CADC proxy certificate); one of them is missing.`,
      { sent: false },
    );
  }
  return pem;
}
