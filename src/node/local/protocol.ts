import type { LocalSessionType, SessionEventRecord, SessionRecord } from './types';
import { SESSION_TYPES } from './types';

/** An answer other than 200, with the service's status and text. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string): HttpError => new HttpError(400, message);

/** The registries this server accepts images from (GET /repository). */
export const REPOSITORIES = ['images.canfar.net'];

/** A few images under that registry, so clients can list and pick (GET /image). Processes run on this machine. */
export const IMAGES: { id: string; types: LocalSessionType[]; digest: string }[] = [
  {
    id: 'images.canfar.net/skaha/astroml:latest',
    types: ['headless', 'notebook'],
    digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000001',
  },
  {
    id: 'images.canfar.net/skaha/terminal:1.1.2',
    types: ['headless'],
    digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000002',
  },
  {
    id: 'images.canfar.net/skaha/desktop:latest',
    types: ['desktop'],
    digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000003',
  },
  {
    id: 'images.canfar.net/skaha/carta:latest',
    types: ['carta'],
    digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000004',
  },
];

/** RAM options (GiB) of the older file-based deployments; the 'capacity' context keeps those that fit. */
const SERVICE_RAM_OPTIONS = [
  1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 26, 28, 30, 32, 36, 40, 44, 48, 56, 64, 80, 92, 112, 128, 140, 170,
  192,
];
export const GIB_IN_GB = 1.073741824;

export interface LocalContext {
  cores: { default: number; defaultRequest: number; defaultLimit: number; options: number[] };
  memoryGB: { default: number; defaultRequest: number; defaultLimit: number; options: number[] };
  gpus: { options: number[] };
  maxInteractiveSessions: number;
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * GET /context as production CANFAR builds it from the cluster's LimitRange (since July 2026): cores
 * 1..16, memory 1..192 GB (every integer), GPUs 1..7, flexible sessions request 1 core / 4 GB with limits
 * 16 / 32, and maxInteractiveSessions as an integer. The local server's capacity is enforced by admission,
 * not here: a request larger than the capacity is accepted and stays queued, as on the platform.
 */
export function productionContext(maxInteractiveSessions: number): LocalContext {
  return {
    cores: { default: 1, defaultRequest: 1, defaultLimit: 16, options: range(1, 16) },
    memoryGB: { default: 4, defaultRequest: 4, defaultLimit: 32, options: range(1, 192) },
    gpus: { options: range(1, 7) },
    maxInteractiveSessions,
  };
}

/**
 * GET /context derived from the capacity (option `context: 'capacity'`): options never exceed what the
 * queue can hand out, so a request that passes validation always starts eventually. No GPUs: any `gpus`
 * value is refused.
 */
export function buildContext(
  capacityCores: number,
  capacityRamGB: number,
  maxInteractiveSessions: number,
): LocalContext {
  const maxCores = Math.max(1, Math.floor(capacityCores));
  const cores = Array.from({ length: Math.min(maxCores, 256) }, (_, i) => i + 1);
  // The caller guarantees room for 1 GiB at least, so the list is never empty.
  const memory = SERVICE_RAM_OPTIONS.filter((gib) => gib * GIB_IN_GB <= capacityRamGB + 1e-9);
  const pick = (wanted: number, options: number[]) => options.filter((o) => o <= wanted).pop() ?? options[0];
  return {
    cores: { default: pick(2, cores), defaultRequest: 1, defaultLimit: pick(8, cores), options: cores },
    memoryGB: {
      default: pick(8, memory),
      defaultRequest: pick(4, memory),
      defaultLimit: pick(32, memory),
      options: memory,
    },
    gpus: { options: [] },
    maxInteractiveSessions,
  };
}

/** A Kubernetes label value: at most 63 characters, alphanumerics, '-', '_', '.', alphanumeric at both ends. */
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * The service selects a session's pods by a label holding its id: an id that is not a valid label value
 * makes the selector invalid, and GET, events and renew answer 400 (DELETE still answers 200).
 */
export function checkSessionIdLabel(id: string): void {
  if (id.length <= 63 && LABEL_VALUE.test(id)) return;
  throw badRequest(
    `invalid session id ${JSON.stringify(id)}: a valid label must be an empty string or consist of ` +
      `alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character ` +
      `(at most 63 characters)`,
  );
}

/** Java's StringUtil.hasText: present and not only whitespace. */
const hasText = (value: string | null): value is string => value !== null && value.trim() !== '';

/** Java's Double.valueOf grammar, enough of it: decimal, optional sign and exponent, surrounding spaces. */
function parseJavaDouble(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfF]?$/.test(trimmed)) return undefined;
  return Number.parseFloat(trimmed.replace(/[dDfF]$/, ''));
}

/**
 * The service's env quirk: each entry is split on '=' the Java way (trailing empty parts removed) and
 * kept only when exactly two parts remain. So `A=` and `A=b=c` are silently dropped, while `A=b=` keeps A=b.
 */
export function parseEnvEntries(entries: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const parts = entry.split('=');
    while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
    if (parts.length === 2 && parts[0] !== '') env[parts[0]] = parts[1];
  }
  return env;
}

/**
 * A valid POST /session: the fields of the session record (SessionRecord, what is persisted) that the
 * caller chooses; `SessionManager.create` copies them into the record it stores.
 */
export type CreateRequest = Pick<
  SessionRecord,
  'name' | 'image' | 'type' | 'fixed' | 'cores' | 'ramGiB' | 'gpus' | 'cmd' | 'args' | 'env'
>;

/**
 * Validates POST /session parameters in the service's order, with its messages (400 text/plain).
 * `activeInteractive` is the caller's count of Pending/Running interactive sessions, for the cap.
 */
export function parseCreateRequest(
  params: URLSearchParams,
  context: LocalContext,
  user: string,
  activeInteractive: number,
): CreateRequest {
  const image = params.get('image');
  if (image === null) throw badRequest("Missing parameter 'image'");

  const requestedType = params.get('type');
  const typeText = hasText(requestedType) ? requestedType.trim().toLowerCase() : 'headless';
  const type = SESSION_TYPES.find((t) => t === typeText);
  if (!type) throw badRequest(`Invalid session type: ${requestedType}`);

  if (!hasText(image)) throw badRequest('image is required');
  if (!REPOSITORIES.some((host) => image.startsWith(host))) {
    throw badRequest(`session image '${image}' must come from one of [${REPOSITORIES.join(', ')}]`);
  }

  const resource = (param: 'cores' | 'ram', options: number[]): number | undefined => {
    const text = params.get(param);
    if (!hasText(text)) return undefined;
    const value = parseJavaDouble(text);
    // The service validates the integer part against the options, and keeps the value as given.
    if (value === undefined || !options.includes(Math.trunc(value))) {
      throw badRequest(`Invalid value for '${param}': ${text}`);
    }
    return value;
  };
  const cores = resource('cores', context.cores.options);
  const ram = resource('ram', context.memoryGB.options);

  const name = params.get('name');
  if (!hasText(name)) throw badRequest("Missing parameter 'name'");
  if (!/^[A-Za-z0-9-]+$/.test(name)) throw badRequest("name can only contain alpha-numeric chars and '-'");
  // The name becomes the canfar.net/name label: the label code strips leading '-', leaving a blank value.
  if (name.startsWith('-')) throw badRequest('canfar.net/name label value cannot be blank');

  if (type !== 'headless' && activeInteractive >= context.maxInteractiveSessions) {
    throw badRequest(
      `User ${user} has reached the maximum of ${context.maxInteractiveSessions} active sessions.`,
    );
  }

  let gpus = 0;
  const gpusText = params.get('gpus');
  if (hasText(gpusText)) {
    const value = /^[+-]?\d+$/.test(gpusText) ? Number.parseInt(gpusText, 10) : Number.NaN;
    if (!context.gpus.options.includes(value)) throw badRequest(`Invalid value for 'gpus': ${gpusText}`);
    gpus = value;
  }

  // The name is also the pod's hostname (a DNS label): the cluster refuses the pod, and the service
  // answers 500. The text is this server's; the status is the service's.
  if (name.endsWith('-') || name.length > 63) {
    throw new HttpError(
      500,
      `failed to create the session: the pod hostname ${JSON.stringify(name.toLowerCase())} is invalid ` +
        `(a DNS label must end with a letter or digit and have at most 63 characters)`,
    );
  }

  const headless = type === 'headless';
  const cmd = params.get('cmd');
  const args = params.get('args');
  return {
    name: name.toLowerCase(),
    image,
    type,
    // Fixed when either resource is given, as the official client and the portal send both or neither.
    fixed: cores !== undefined || ram !== undefined,
    cores: cores ?? context.cores.defaultRequest,
    ramGiB: ram ?? context.memoryGB.defaultRequest,
    gpus,
    cmd: headless && cmd !== null ? cmd : undefined,
    // The service splits on single spaces and passes empty pieces through: "a  b" gives "a", "", "b".
    args: headless && args !== null ? args.split(' ') : [],
    env: headless ? parseEnvEntries(params.getAll('env')) : {},
  };
}

/** ISO 8601 to the second, as the service prints times. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Decimal GB with two decimals from GiB, as the service reports requestedRAM (`ram=4` gives "4.29"). */
export const gibToGbText = (gib: number): string => (gib * GIB_IN_GB).toFixed(2);

/** The session JSON of the service: strings except supplementalGroups and isFixedResources; nulls omitted. */
export function sessionJson(
  record: SessionRecord,
  ids: { uid: string; gid: string; groups: number[] },
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: record.id,
    userid: record.userid,
    runAsUID: ids.uid,
    runAsGID: ids.gid,
    supplementalGroups: ids.groups,
    image: record.image,
    type: record.type,
    status: record.status,
    name: record.name,
  };
  if (record.startTime) json.startTime = record.startTime;
  if (record.expiryTime) json.expiryTime = record.expiryTime;
  json.connectURL = record.connectURL;
  if (record.fixed) {
    json.requestedRAM = gibToGbText(record.ramGiB);
    json.requestedCPUCores = String(record.cores);
    json.requestedGPUCores = String(record.gpus);
  }
  json.isFixedResources = record.fixed;
  return json;
}

/** kubectl's custom-columns table: columns padded to the widest cell plus three spaces, `<none>` when empty. */
export function eventsTable(events: SessionEventRecord[]): string {
  if (events.length === 0) return '<none>\n';
  const rows = [
    ['TYPE', 'REASON', 'MESSAGE', 'FIRST-TIME', 'LAST-TIME'],
    ...events.map((e) => [e.type, e.reason, e.message.replace(/\s*\n\s*/g, ' '), e.firstTime, e.lastTime]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map(
      (row) =>
        row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c] + 3))).join('') + '\n',
    )
    .join('');
}

/** connectURL of an interactive session, in the shape the service gives; locally nothing answers there. */
export function connectUrl(origin: string, type: LocalSessionType, id: string, home: string): string {
  switch (type) {
    case 'notebook':
      return `${origin}/session/notebook/${id}/lab/tree${home.startsWith('/') ? home : `/${home}`}?token=${id}`;
    case 'desktop':
      return `${origin}/session/desktop/${id}?password=${id}&path=session/desktop/${id}/`;
    case 'carta':
      return `${origin}/session/carta/${id}`;
    case 'contributed':
      return `${origin}/session/contrib/${id}`;
    case 'firefly':
      return `${origin}/session/firefly/${id}/firefly/`;
    default:
      return '';
  }
}
