/**
 * The browser's way to the server half: a Skaha `Transport` over `ServerConnection.makeRequest` (so the
 * Jupyter token and XSRF cookie go along) and the `/canfar/api/info` call. Nothing here knows Skaha's
 * paths beyond the prefix the server half forwards; the protocol lives in src/skaha.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import * as z from 'zod/mini';
import { SkahaClient, SkahaTransportError } from '../skaha';
import type { Transport, TransportRequest, TransportResponse } from '../skaha';
import { LAB_VERSION, versionWarning } from './version';
import type { CanfarInfo, InfoResult, Problem } from './tokens';

/** Where the server half forwards Skaha v1 calls, relative to Jupyter's base URL. */
export const SKAHA_PREFIX = 'canfar/api/skaha/v1';
export const INFO_PATH = 'canfar/api/info';

export function skahaBaseUrl(settings: ServerConnection.ISettings): string {
  return URLExt.join(settings.baseUrl, SKAHA_PREFIX);
}

/**
 * A Transport for SkahaClient that goes through the Jupyter server. A network failure (the server is
 * gone, or the browser is offline) becomes `SkahaTransportError`; `sent` is false when the request was
 * aborted before or while sending a request whose fate we cannot know otherwise, so we report `true`
 * for anything but GET: the POST may have reached the server.
 */
export function createLabTransport(settings: ServerConnection.ISettings): Transport {
  return async (request: TransportRequest): Promise<TransportResponse> => {
    const headers = new Headers(request.headers);
    if (request.body !== undefined && !headers.has('Content-Type')) {
      // makeRequest would otherwise label a form body as JSON.
      headers.set('Content-Type', 'application/x-www-form-urlencoded');
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        request.url,
        // `no-cache` revalidates instead of the `no-store` default, whose cache-busting `&<time>` query
        // parameter would be forwarded to Skaha.
        { method: request.method, headers, body: request.body, signal: request.signal, cache: 'no-cache' },
        settings,
      );
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error);
      throw new SkahaTransportError(
        `Cannot reach the Jupyter server at ${settings.baseUrl} (${cause}). Check that Jupyter is still running.`,
        { sent: request.method !== 'GET' },
      );
    }
    return {
      status: response.status,
      headers: { get: (name: string) => response.headers.get(name) },
      text: () => response.text(),
    };
  };
}

export function createLabClient(settings: ServerConnection.ISettings): SkahaClient {
  return new SkahaClient({ baseUrl: skahaBaseUrl(settings), transport: createLabTransport(settings) });
}

const InfoSchema = z.object({
  endpoint: z.string(),
  url: z.string(),
  user: z.optional(z.nullable(z.string())),
  credential: z.optional(
    z.object({
      kind: z.string(),
      source: z.optional(z.nullable(z.string())),
      expires: z.optional(z.nullable(z.string())),
    }),
  ),
  ok: z.boolean(),
  error: z.optional(z.nullable(z.string())),
  version: z.optional(z.string()),
  versionWarning: z.optional(z.string()),
});

export type { CanfarInfo, InfoResult, Problem };

/**
 * Reads `/canfar/api/info`; a 404 there means the Python half is not installed or not enabled.
 * `labVersion` (this labextension's, by default) is compared with the server half's version.
 */
export async function fetchInfo(
  settings: ServerConnection.ISettings,
  trans: TranslationBundle = nullTranslator.load('jupyterlab_canfar'),
  labVersion: string | undefined = LAB_VERSION,
): Promise<InfoResult> {
  const url = URLExt.join(settings.baseUrl, INFO_PATH);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, { method: 'GET' }, settings);
  } catch (error) {
    return {
      ok: false,
      problem: {
        kind: 'jupyter-unreachable',
        message: trans.__(
          'Cannot reach the Jupyter server at %1: %2. Check that Jupyter is still running, then refresh.',
          settings.baseUrl,
          String(error),
        ),
      },
    };
  }
  if (response.status === 404) {
    return { ok: false, problem: serverHalfMissing(trans) };
  }
  const text = await response.text();
  let parsed: CanfarInfo;
  try {
    parsed = InfoSchema.parse(JSON.parse(text));
  } catch {
    return {
      ok: false,
      problem: {
        kind: 'other',
        message: trans.__(
          '%1 answered %2 with an unexpected body (%3). The jupyterlab_canfar server extension and this JupyterLab extension may be different versions: reinstall jupyterlab-canfar.',
          url,
          response.status,
          text.slice(0, 200),
        ),
      },
    };
  }
  const warning = versionWarning(labVersion, parsed.version, trans);
  if (warning) parsed.versionWarning = warning;
  if (!parsed.ok) {
    return {
      ok: false,
      info: parsed,
      problem: {
        kind: 'endpoint-unreachable',
        message: trans.__(
          'The CANFAR endpoint %1 is not usable: %2',
          parsed.url || parsed.endpoint,
          parsed.error ?? trans.__('no reason given'),
        ),
      },
    };
  }
  return { ok: true, info: parsed };
}

export function serverHalfMissing(
  trans: TranslationBundle = nullTranslator.load('jupyterlab_canfar'),
): Problem {
  return {
    kind: 'server-half-missing',
    message: trans.__(
      'The jupyterlab_canfar server extension is not enabled: run `jupyter server extension enable jupyterlab_canfar` in the environment that runs Jupyter, then restart Jupyter.',
    ),
  };
}
