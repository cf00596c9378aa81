/**
 * The Skaha v1 data as this package exposes it: parsed, normalised (numbers are numbers, RAM is decimal GB,
 * old status names mapped), with the service's original JSON kept in `raw`.
 */

/** The kinds of session the service launches (`type=`); absent on create means headless. */
export type SessionKind = 'notebook' | 'desktop' | 'carta' | 'contributed' | 'firefly' | 'headless';
export const SESSION_KINDS: readonly SessionKind[] = [
  'notebook',
  'desktop',
  'carta',
  'contributed',
  'firefly',
  'headless',
];

/** Session states. Older servers' `Succeeded` is read as `Completed`; anything unrecognised as `Unknown`. */
export type SessionStatus =
  'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminating' | 'Error' | 'Unknown';
export const SESSION_STATUSES: readonly SessionStatus[] = [
  'Pending',
  'Running',
  'Completed',
  'Failed',
  'Terminating',
  'Error',
  'Unknown',
];

export interface Session {
  id: string;
  userid?: string;
  image: string;
  /** Usually a SessionKind; kept as sent when the server knows kinds we do not. */
  type: SessionKind | (string & {});
  status: SessionStatus;
  name: string;
  /** Absent until the job starts (while queued, for example). */
  startTime?: Date;
  expiryTime?: Date;
  connectURL?: string;
  /** Decimal GB; only for fixed-resource sessions. */
  requestedRAM?: number;
  requestedCPUCores?: number;
  requestedGPUCores?: number;
  /** Decimal GB; only when the cluster has metrics. */
  ramInUse?: number;
  cpuCoresInUse?: number;
  isFixedResources?: boolean;
  runAsUID?: string;
  runAsGID?: string;
  supplementalGroups?: number[];
  /** The service's JSON object, untouched. */
  raw: Record<string, unknown>;
}

/**
 * One row of `GET /session?view=all`: every user's sessions, reduced to who, what, state and since when
 * (the platform's load as the portal shows it).
 */
export interface PlatformSession {
  userid: string;
  /** Usually a SessionKind. */
  type: SessionKind | (string & {});
  status: SessionStatus;
  /** Absent while queued. */
  startTime?: Date;
  /** The service's JSON object, untouched. */
  raw: Record<string, unknown>;
}

export interface ResourceRange {
  default: number;
  defaultRequest: number;
  defaultLimit: number;
  options: number[];
}

/** `GET /context`: the values a create may ask for. */
export interface SkahaContext {
  cores: ResourceRange;
  memoryGB: ResourceRange;
  gpus: { options: number[] };
  maxInteractiveSessions?: number;
}

export interface SkahaImage {
  id: string;
  types: string[];
  digest?: string;
}

/** `GET /session?view=stats`: the platform's load. RAM in decimal GB. */
export interface PlatformStats {
  cores: { requested: number; available: number; maxPerSession: number };
  ram: { requestedGB: number; availableGB: number; maxPerSessionGB: number };
  raw: Record<string, unknown>;
}

/** One row of `GET /session/{id}?view=events`. */
export interface SessionEvent {
  type: string;
  reason: string;
  message: string;
  firstTime?: string;
  lastTime?: string;
}

/** What to launch: one session (or, through createReplicas, the template of n replicas). */
export interface SessionSpec {
  name: string;
  image: string;
  /** Default 'headless'. */
  kind?: SessionKind;
  /** Cores; absent = flexible (the service's default request and limit). */
  cores?: number;
  /** RAM in GB; absent = flexible. */
  ram?: number;
  /** GPUs; absent or... never 0 (the service refuses gpus=0). */
  gpus?: number;
  /** Headless only: replaces the image's entrypoint. */
  cmd?: string;
  /** Headless only: the service joins them with single spaces and splits on spaces again. */
  args?: string[];
  env?: Record<string, string>;
  /** For private or not-yet-cached images: sent as `x-skaha-registry-auth: base64(user:secret)`. */
  registryAuth?: { username: string; secret: string };
}
