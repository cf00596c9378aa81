/**
 * Errors a user can act on: what failed (the operation), what the service said (its text/plain message, first
 * line), and what to do (the hint). Every failure of this module is a SkahaError with a stable `code`.
 */

export type SkahaErrorCode =
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'unavailable'
  | 'server-error'
  | 'invalid-response'
  | 'invalid-input'
  | 'transport';

export interface SkahaErrorOptions {
  status?: number;
  serviceMessage?: string;
  hint?: string;
  retryAfterSeconds?: number;
  cause?: unknown;
}

const HINTS: Record<SkahaErrorCode, string> = {
  'bad-request': 'The service refused a parameter: correct the value it names and try again.',
  unauthenticated:
    'Your credentials were not accepted: set CANFAR_TOKEN, or renew your proxy certificate (~/.ssl/cadcproxy.pem is valid 7 days).',
  forbidden:
    'Your account is not allowed to use this service: ask the CANFAR support for access to the science platform.',
  'not-found':
    'No such session, or not yours. A finished headless session is deleted one hour after it ends: a 404 then means "cleaned up".',
  unavailable: 'The service is temporarily unavailable: try again in a little while.',
  'server-error': 'The service failed: try again later, and report it to CANFAR support if it persists.',
  'invalid-response':
    'The server did not answer like a Skaha v1 service: check the URL (it should end in /skaha/v1).',
  'invalid-input': 'Correct the value named above; nothing was sent to the service.',
  transport: 'Could not talk to the service: check the URL, your network, and that the server is running.',
};

export class SkahaError extends Error {
  override name = 'SkahaError';
  readonly code: SkahaErrorCode;
  readonly status?: number;
  /** The service's own text (text/plain body), trimmed. */
  readonly serviceMessage?: string;
  readonly hint: string;
  /** For 'unavailable': the Retry-After the service sent, in seconds. */
  readonly retryAfterSeconds?: number;

  constructor(code: SkahaErrorCode, message: string, options: SkahaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    if (options.serviceMessage !== undefined) this.serviceMessage = options.serviceMessage;
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    this.hint = options.hint ?? HINTS[code];
  }
}

/**
 * Thrown by a Transport when no HTTP answer came back. `sent` tells whether the request may have reached the
 * server (timeout or reset after sending: its effect is unknown) or surely did not (connection refused, DNS).
 */
export class SkahaTransportError extends SkahaError {
  override name = 'SkahaTransportError';
  readonly sent: boolean;
  constructor(message: string, options: SkahaErrorOptions & { sent: boolean }) {
    super('transport', message, options);
    this.sent = options.sent;
  }
}

/** The code for an HTTP error status. */
export function codeForStatus(status: number): SkahaErrorCode {
  if (status === 400) return 'bad-request';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 503 || status === 429) return 'unavailable';
  if (status >= 500) return 'server-error';
  return 'bad-request';
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const when = Date.parse(text);
  if (Number.isNaN(when)) return undefined;
  return Math.max(0, Math.ceil((when - now) / 1000));
}

const MAX_SERVICE_MESSAGE = 4000;

/** The service's text, as shown to a user: trimmed, bounded, and never an HTML error page dumped whole. */
function cleanServiceText(text: string): string {
  let clean = text.trim();
  if (/^<(!doctype|html)/i.test(clean)) {
    // A proxy's error page: keep its title, which usually says it all.
    const title = /<title>([^<]*)<\/title>/i.exec(clean)?.[1]?.trim();
    clean = title ? title : 'an HTML error page';
  }
  return clean.length > MAX_SERVICE_MESSAGE ? `${clean.slice(0, MAX_SERVICE_MESSAGE)}...` : clean;
}

/** The SkahaError for an HTTP error answer to `operation` (e.g. "create session 'sweep-1'"). */
export function errorFromResponse(
  operation: string,
  status: number,
  body: string,
  retryAfter: string | null,
): SkahaError {
  const code = codeForStatus(status);
  const serviceMessage = cleanServiceText(body);
  const firstLine = serviceMessage.split('\n', 1)[0]?.trim() ?? '';
  const retryAfterSeconds = code === 'unavailable' ? parseRetryAfter(retryAfter) : undefined;
  const said = firstLine ? `: ${firstLine}` : '';
  const message = `${operation} failed with HTTP ${status}${said}`;
  let hint: string | undefined;
  if (code === 'unavailable' && retryAfterSeconds !== undefined) {
    hint = `The service is temporarily unavailable: it asks to retry in ${retryAfterSeconds} s.`;
  }
  return new SkahaError(code, message, {
    status,
    serviceMessage: serviceMessage || undefined,
    retryAfterSeconds,
    hint,
  });
}
