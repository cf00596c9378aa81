/**
 * Parsing the service's JSON into this package's types. The zod schemas check the shape (what must be there,
 * with which JSON type); the transforms normalise values, accepting the forms older Skaha servers sent:
 * quantities as Kubernetes strings (`"8G"`, `"101Mi"`, `"0m"`), `"<none>"` for no value, `coresInUse` for
 * `cpuCoresInUse`, and the statuses `Succeeded`, `Error`, `Unknown`.
 * zod/mini keeps the browser bundle small; it has everything used here.
 */
import * as z from 'zod/mini';

import { SkahaError } from './errors';
import type {
  PlatformSession,
  PlatformStats,
  ResourceRange,
  Session,
  SessionStatus,
  SkahaContext,
  SkahaImage,
} from './types';

// ---------------------------------------------------------------------------------------------------------
// value forms

const NO_VALUE = new Set(['', '<none>', 'none', 'null', '<nil>', 'n/a']);
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)$/;
const BYTES: Record<string, number> = {
  '': 1,
  m: 1e-3,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  GB: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

/**
 * RAM in decimal GB. A bare number is already GB (the current service writes `"8.59"` for 8 GiB); a
 * Kubernetes quantity (`"8G"`, `"101Mi"`, `"32Gi"`, `"0m"`) is converted from bytes. undefined for no value
 * or an unreadable one.
 */
export function parseRamGB(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (NO_VALUE.has(text.toLowerCase())) return undefined;
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2];
  if (unit === '') return amount;
  const factor = BYTES[unit];
  return factor === undefined ? undefined : round6((amount * factor) / 1e9);
}

/** CPU cores: `"2"`, `2`, `"500m"` (millicores), `"0m"`; undefined for no value or an unreadable one. */
export function parseCores(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (NO_VALUE.has(text.toLowerCase())) return undefined;
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  if (match[2] === '') return Number(match[1]);
  if (match[2] === 'm') return round6(Number(match[1]) / 1000);
  return undefined;
}

const STATUS_ALIASES: Record<string, SessionStatus> = {
  pending: 'Pending',
  running: 'Running',
  completed: 'Completed',
  succeeded: 'Completed',
  failed: 'Failed',
  terminating: 'Terminating',
  error: 'Error',
  unknown: 'Unknown',
};

/** A status as the service sent it, normalised (`Succeeded` is `Completed`; anything else unknown is `Unknown`). */
export function normaliseStatus(value: unknown): SessionStatus {
  return (typeof value === 'string' && STATUS_ALIASES[value.trim().toLowerCase()]) || 'Unknown';
}

function text(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return NO_VALUE.has(trimmed.toLowerCase()) ? undefined : trimmed;
}

function date(value: unknown): Date | undefined {
  const t = text(value);
  if (t === undefined) return undefined;
  const when = new Date(t);
  return Number.isNaN(when.getTime()) ? undefined : when;
}

function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// schemas

/** A JSON scalar the service may send for a field (strings mostly, numbers on older or other servers). */
const scalar = z.optional(z.nullable(z.union([z.string(), z.number(), z.boolean()])));
const numberish = z.union([z.number(), z.string()]);

const sessionWire = z.looseObject({
  id: z.string().check(z.minLength(1, 'a session needs a non-empty "id"')),
  userid: scalar,
  runAsUID: scalar,
  runAsGID: scalar,
  supplementalGroups: z.optional(z.nullable(z.array(numberish))),
  image: scalar,
  type: scalar,
  status: scalar,
  name: scalar,
  startTime: scalar,
  expiryTime: scalar,
  connectURL: scalar,
  requestedRAM: scalar,
  requestedCPUCores: scalar,
  requestedGPUCores: scalar,
  ramInUse: scalar,
  cpuCoresInUse: scalar,
  coresInUse: scalar,
  gpuCoresInUse: scalar,
  isFixedResources: scalar,
});

function toSession(wire: z.infer<typeof sessionWire>): Session {
  const session: Session = {
    id: wire.id,
    image: text(wire.image) ?? '',
    type: text(wire.type) ?? 'headless',
    status: normaliseStatus(wire.status),
    name: text(wire.name) ?? '',
    raw: wire as Record<string, unknown>,
  };
  const optional: Partial<Session> = {
    userid: text(wire.userid),
    startTime: date(wire.startTime),
    expiryTime: date(wire.expiryTime),
    connectURL: text(wire.connectURL),
    requestedRAM: parseRamGB(wire.requestedRAM),
    requestedCPUCores: parseCores(wire.requestedCPUCores),
    requestedGPUCores: parseCores(wire.requestedGPUCores),
    ramInUse: parseRamGB(wire.ramInUse),
    cpuCoresInUse: parseCores(wire.cpuCoresInUse ?? wire.coresInUse),
    isFixedResources: bool(wire.isFixedResources),
    runAsUID: text(wire.runAsUID),
    runAsGID: text(wire.runAsGID),
    supplementalGroups: wire.supplementalGroups?.map(Number).filter((n) => Number.isInteger(n)),
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) (session as unknown as Record<string, unknown>)[key] = value;
  }
  return session;
}

export const sessionSchema = z.pipe(sessionWire, z.transform(toSession));
export const sessionListSchema = z.array(sessionSchema);

/** `GET /session?view=all`: `{userid, type, status, startTime?}` per session (extra fields kept in raw). */
export const platformSessionSchema = z.pipe(
  z.looseObject({ userid: scalar, type: scalar, status: scalar, startTime: scalar }),
  z.transform((wire): PlatformSession => {
    const row: PlatformSession = {
      userid: text(wire.userid) ?? '',
      type: text(wire.type) ?? 'headless',
      status: normaliseStatus(wire.status),
      raw: wire as Record<string, unknown>,
    };
    const startTime = date(wire.startTime);
    if (startTime) row.startTime = startTime;
    return row;
  }),
);
export const platformSessionListSchema = z.array(platformSessionSchema);

const range = z.looseObject({
  default: z.optional(z.number()),
  defaultRequest: z.optional(z.number()),
  defaultLimit: z.optional(z.number()),
  options: z.array(z.number()),
});

const contextWire = z.looseObject({
  cores: z.optional(range),
  memoryGB: z.optional(range),
  gpus: z.optional(z.looseObject({ options: z.optional(z.array(z.number())) })),
  // An integer; older file-based deployments render it as a string ("3").
  maxInteractiveSessions: z.optional(z.union([z.number(), z.string()])),
  // Older servers: flat fields.
  defaultCores: z.optional(z.number()),
  defaultCoresHeadless: z.optional(z.number()),
  availableCores: z.optional(z.array(z.number())),
  defaultRAM: z.optional(z.number()),
  defaultRAMHeadless: z.optional(z.number()),
  availableRAM: z.optional(z.array(z.number())),
  availableGPUs: z.optional(z.array(z.number())),
});

function toRange(
  wire: z.infer<typeof range> | undefined,
  options: number[] | undefined,
  fallbackDefault: number | undefined,
  fallbackRequest: number | undefined,
): ResourceRange | undefined {
  const opts = wire?.options ?? options;
  if (!opts) return undefined;
  const def = wire?.default ?? fallbackDefault ?? opts[0] ?? 1;
  return {
    default: def,
    defaultRequest: wire?.defaultRequest ?? fallbackRequest ?? def,
    defaultLimit: wire?.defaultLimit ?? Math.max(def, ...opts),
    options: [...opts],
  };
}

export const contextSchema = z.pipe(
  contextWire,
  z.transform((wire, ctx): SkahaContext => {
    const cores = toRange(wire.cores, wire.availableCores, wire.defaultCores, wire.defaultCoresHeadless);
    const memoryGB = toRange(wire.memoryGB, wire.availableRAM, wire.defaultRAM, wire.defaultRAMHeadless);
    if (!cores || !memoryGB) {
      ctx.issues.push({
        code: 'custom',
        input: wire,
        message:
          'a context needs "cores.options" and "memoryGB.options" (or the older "availableCores"/"availableRAM")',
      });
      return z.NEVER;
    }
    const context: SkahaContext = {
      cores,
      memoryGB,
      gpus: { options: [...(wire.gpus?.options ?? wire.availableGPUs ?? [])] },
    };
    const maxInteractive = Number(wire.maxInteractiveSessions);
    if (
      wire.maxInteractiveSessions !== undefined &&
      wire.maxInteractiveSessions !== '' &&
      Number.isInteger(maxInteractive)
    )
      context.maxInteractiveSessions = maxInteractive;
    return context;
  }),
);

export const imageSchema = z.pipe(
  z.looseObject({
    id: z.string().check(z.minLength(1)),
    types: z.optional(z.array(z.string())),
    digest: z.optional(z.nullable(z.string())),
  }),
  z.transform((wire): SkahaImage => {
    const image: SkahaImage = { id: wire.id, types: wire.types ?? [] };
    if (wire.digest) image.digest = wire.digest;
    return image;
  }),
);
export const imageListSchema = z.array(imageSchema);
export const repositoriesSchema = z.array(z.string());

const quantity = z.optional(z.nullable(numberish));
const statsWire = z.looseObject({
  cores: z.looseObject({
    requestedCPUCores: quantity,
    requestedCores: quantity,
    cpuCoresAvailable: quantity,
    coresAvailable: quantity,
    maxCPUCores: z.optional(z.looseObject({ cpuCores: quantity, cores: quantity })),
    maxCores: z.optional(z.looseObject({ cpuCores: quantity, cores: quantity })),
  }),
  ram: z.looseObject({
    requestedRAM: quantity,
    ramAvailable: quantity,
    maxRAM: z.optional(z.looseObject({ ram: quantity })),
  }),
});

export const statsSchema = z.pipe(
  statsWire,
  z.transform((wire): PlatformStats => {
    const max = wire.cores.maxCPUCores ?? wire.cores.maxCores;
    return {
      cores: {
        requested: parseCores(wire.cores.requestedCPUCores ?? wire.cores.requestedCores) ?? 0,
        available: parseCores(wire.cores.cpuCoresAvailable ?? wire.cores.coresAvailable) ?? 0,
        maxPerSession: parseCores(max?.cpuCores ?? max?.cores) ?? 0,
      },
      ram: {
        requestedGB: parseRamGB(wire.ram.requestedRAM) ?? 0,
        availableGB: parseRamGB(wire.ram.ramAvailable) ?? 0,
        maxPerSessionGB: parseRamGB(wire.ram.maxRAM?.ram) ?? 0,
      },
      raw: wire as Record<string, unknown>,
    };
  }),
);

// ---------------------------------------------------------------------------------------------------------
// parsing a body

/**
 * Parse a JSON body with `schema`, or throw SkahaError 'invalid-response' naming the operation, what was wrong
 * and where (zod's path), with the start of the body.
 */
export function parseBody<T>(schema: z.ZodMiniType<T>, body: string, operation: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    const start = body.trim().slice(0, 120);
    throw new SkahaError(
      'invalid-response',
      `${operation}: the answer is not JSON: ${JSON.stringify(start)}`,
      {
        serviceMessage: start,
      },
    );
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    throw new SkahaError(
      'invalid-response',
      `${operation}: unexpected answer: ${z.prettifyError(result.error).replace(/\n\s*/g, '; ')}`,
    );
  }
  return result.data;
}
