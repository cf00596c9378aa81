/** Public types of the local Skaha-compatible server (`canfar-lab local`, `startLocalServer`). */

/**
 * Fault injection, for tests and benchmarks of clients. Everything is off by default. Rates are
 * probabilities in [0, 1] drawn per request (per create for `createThenFailRate`).
 * Also read from the env variable `CANFAR_LOCAL_FAULTS` (JSON of this shape) when the option is absent.
 */
export interface FaultOptions {
  /** Milliseconds added before every answer (0 by default). */
  latencyMs?: number;
  /** Rate of `503 Service Unavailable` with a `Retry-After` header; nothing is done. */
  unavailableRate?: number;
  /** Value of `Retry-After` (seconds) sent with injected 503s; 1 by default. */
  retryAfterSeconds?: number;
  /** Rate of `500` answers; nothing is done. */
  serverErrorRate?: number;
  /** Rate of connections destroyed without any answer; nothing is done. */
  dropRate?: number;
  /**
   * Rate of `POST /session` that DO create the session, then answer `500` or drop the connection
   * (half each): the "fate unknown" case a client must reconcile by listing before it retries.
   */
  createThenFailRate?: number;
  /** Seed of the pseudo-random generator deciding each fault: same seed, same sequence. */
  seed?: number;
  /** Only requests whose path contains this string are subject to faults (all of them by default). */
  pathIncludes?: string;
  /**
   * Preemption on a timer: every headless session is preempted ONCE, this many seconds after it starts
   * running (SIGTERM to its process group, SIGKILL after `killGraceSeconds`; back to Pending without
   * startTime, requeued, run again from the start when readmitted). `canfar-lab local --preempt-after S`.
   */
  preemptAfterSeconds?: number;
  /**
   * Seeded random preemption: each time a headless session starts running, it is preempted with this
   * probability, at a moment drawn in [0, preemptWithinSeconds) after its start, at most `preemptMaxTimes`
   * times. The draws depend only on `seed`, the session's name and its attempt number, so the same names
   * on a fresh server are preempted the same way. `--preempt-random P [--seed N]`. Not with preemptAfterSeconds.
   */
  preemptRate?: number;
  /** Window of the random moment, seconds after the start; 10 by default. */
  preemptWithinSeconds?: number;
  /** Most preemptions of one session in the random mode; 1 by default. */
  preemptMaxTimes?: number;
  /**
   * Seconds an injected preemption keeps the session Pending before it may be admitted again (standing in
   * for the work that took its place, and long enough for a monitor to see it queued); 2 by default.
   */
  preemptRequeueSeconds?: number;
}

export interface TlsOptions {
  /** PEM certificate chain of the server (a string holding PEM text, or a path to a PEM file). */
  cert: string;
  /** PEM private key of the server (text or path). */
  key: string;
  /**
   * PEM CA (text or path). When given, client certificates signed by it authenticate the caller as well
   * as the bearer token does; the user is the certificate's subject CN.
   */
  ca?: string;
}

export interface LocalServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; 127.0.0.1 by default (only this machine can reach it). */
  host?: string;
  /** Bearer token clients must send. Default: the one in `<stateDir>/token`, created at random (mode 0600). */
  token?: string;
  /** Where session records, logs, the token and server.json live. Default: `defaultStateDir()`. */
  stateDir?: string;
  /** Seconds a finished session stays visible (GET, logs, events) before it is deleted; 3600 like CANFAR. */
  ttlSeconds?: number;
  /**
   * Cores the queue may hand out (admission by quota, as Kueue does on CANFAR); default: this machine's
   * (os.availableParallelism()). Every session counts what it requests (a flexible one: 1 core / 4 GiB).
   */
  cores?: number;
  /** GB of RAM the queue may hand out; default: this machine's total memory, rounded down. */
  ramGB?: number;
  /**
   * What GET /context offers: 'production' (default) is CANFAR's LimitRange shape (cores 1..16, memory
   * 1..192 GB, GPUs 1..7; capacity is enforced by admission, so a request larger than the capacity stays
   * queued); 'capacity' offers only values that fit in `cores`/`ramGB` and no GPU (the former behaviour).
   */
  context?: 'production' | 'capacity';
  /**
   * When an interactive session does not fit, preempt running headless sessions (most recently started
   * first) to make room, as Kueue does for the high-priority interactive queue. On by default.
   */
  preemptForInteractive?: boolean;
  /** Directory sessions run in (HOME, PWD, cwd); default os.homedir(). Stands for /arc/home/<user>. */
  home?: string;
  /** User name reported as `userid` and `skaha_username`; default: the OS user running the server. */
  user?: string;
  /** Interactive sessions (notebook, desktop, ...) allowed at once per user, like the service's cap; 3. */
  maxInteractiveSessions?: number;
  /** Seconds between SIGTERM and SIGKILL when a session is deleted or the server stops; 5. */
  killGraceSeconds?: number;
  /**
   * Run headless sessions in their image with docker or podman (`docker run --rm --init ...`, home mounted
   * at the same path) instead of as plain processes. `command` is the executable (default: the runtime's
   * name on the PATH). Off by default: the image is then recorded only.
   */
  container?: { runtime: 'docker' | 'podman'; command?: string };
  /** Fault injection; off by default. See FaultOptions. */
  faults?: FaultOptions;
  /** HTTPS instead of HTTP (and optional client-certificate authentication). */
  tls?: TlsOptions;
  /** Where the server reports what it does (one line per call); silent by default. */
  log?: (line: string) => void;
}

export interface LocalServer {
  /** Service base URL, e.g. `http://127.0.0.1:8123/skaha`. */
  url: string;
  /** `url + '/v1'`: the base of the session API. */
  apiUrl: string;
  token: string;
  /** File holding the token (mode 0600). */
  tokenFile: string;
  stateDir: string;
  /** What the queue admits at once (the `cores`/`ramGB` options or this machine's). */
  capacity: { cores: number; ramGB: number };
  /**
   * Preempts one running headless session now, for tests: SIGTERM to its process group, then Pending
   * without startTime and readmitted after `requeueSeconds` (default 0) to run its command again. False
   * when the session is not a running headless session of this server (nothing is done).
   */
  preempt(id: string, options?: { requeueSeconds?: number }): boolean;
  /** Stops listening, ends running sessions (recorded as Failed: "Killed"), removes server.json. */
  close(): Promise<void>;
}

/** Session types of the Skaha API. */
export const SESSION_TYPES = ['notebook', 'desktop', 'carta', 'contributed', 'firefly', 'headless'] as const;
export type LocalSessionType = (typeof SESSION_TYPES)[number];

export type LocalSessionStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminating';

export interface SessionEventRecord {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** ISO second precision, e.g. 2026-07-21T18:09:21Z */
  firstTime: string;
  lastTime: string;
}

/** What is stored (as JSON, one file per session) in `<stateDir>/sessions/<id>.json`. */
export interface SessionRecord {
  id: string;
  userid: string;
  name: string;
  image: string;
  type: LocalSessionType;
  status: LocalSessionStatus;
  /** Creation time (ms since epoch). */
  createdAt: number;
  /**
   * When it (re)entered the queue (ms): creation, or the preemption that requeued it. Admission is FIFO
   * on it within a priority (interactive before headless). Absent in records of older servers: createdAt.
   */
  queuedAt?: number;
  /** How many times its command was started (the attempt number of the current or last run). */
  starts?: number;
  /** How many times it was preempted (requeued after running), for any reason. */
  preemptions?: number;
  /** Preemptions injected by the preemptAfterSeconds / preemptRate faults (they have a cap). */
  injectedPreemptions?: number;
  /** Set while a preemption is under way: when the process ends the session is requeued, not finished. */
  preempting?: boolean;
  /** Set by the preemption under way: not admitted again before this time (ms), see preemptRequeueSeconds. */
  holdMs?: number;
  /** A requeued session is not admitted before this time (ms since epoch). */
  notBefore?: number;
  startTime?: string;
  expiryTime?: string;
  /** When the session reached Completed/Failed (ms), for the ttl. */
  endedAt?: number;
  connectURL: string;
  fixed: boolean;
  /** Cores and GB reserved in the local queue while the session runs. */
  reservedCores: number;
  reservedRamGB: number;
  cores: number;
  ramGiB: number;
  gpus: number;
  cmd?: string;
  args: string[];
  env: Record<string, string>;
  /** Whether the session has a "pod": false while queued; events are 404 until then. */
  scheduled: boolean;
  pid?: number;
  /** /proc start time of the pid, so a restarted server does not mistake a recycled pid for its process. */
  pidStart?: string;
  exitCode?: number;
  events: SessionEventRecord[];
}
