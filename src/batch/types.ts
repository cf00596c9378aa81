import type { ConversionDiagnostic, ConversionResult, NotebookParameter } from '../convert';
import type { Session, SessionSpec, SkahaContext, SkahaImage } from '../skaha';

/** The conversion policies of `convertNotebook` (how IPython magics are treated). */
export type ConversionPolicy = 'translate' | 'ipython' | 'comment';

/** What a user asks for: one notebook, run as `replicas` headless sessions. */
export interface BatchInput {
  /** Path of the notebook relative to the store's root, `/`-separated (e.g. `analysis/sweep.ipynb`). */
  notebookPath: string;
  /** The notebook's text exactly as stored (hashed into the manifest, parsed here). */
  notebookText: string;
  /** Number of replicas, 1..512. */
  replicas: number;
  /** Container image, e.g. `images.canfar.net/skaha/astroml:latest`. */
  image: string;
  /** Session name prefix; replica i is `<name>-<i>`. Default: the notebook's name plus 4 characters of the batch id. */
  name?: string;
  cores?: number;
  ram?: number;
  gpus?: number;
  /** User environment, `NAME -> value`. Values of secret-looking names are launched but never stored. */
  env?: Record<string, string>;
  /** Overrides of the notebook's `parameters` cell, `NAME -> value` (sent as `CANFAR_PARAM_<NAME>`). */
  params?: Record<string, string>;
  policy?: ConversionPolicy;
  unknownMagics?: 'ipython' | 'error' | 'comment';
  /** Who submits and where (recorded in the manifest only). */
  user?: string;
  endpoint?: string;
  registryAuth?: SessionSpec['registryAuth'];
  /** Re-runs: the script is taken from the parent batch instead of being converted again. */
  rerun?: RerunSource;
}

export interface RerunSource {
  parent: BatchManifest;
  /** The parent's script text (same script, new batch). */
  script: string;
  /** Replica ids to launch again (default: all of the parent's). REPLICA_COUNT stays the parent's count. */
  replicaIds?: number[];
}

/** What the platform offers, fetched once before planning (see `fetchPlatformInfo`). */
export interface PlatformInfo {
  context?: SkahaContext;
  repositories?: string[];
  /** Images listed by `/image` (all kinds); an image in an allowed registry but not listed is only a warning. */
  images?: SkahaImage[];
  /** The caller's sessions: a replica name already in use would confuse reconciliation and monitoring. */
  sessions?: Session[];
  /**
   * When the request for `sessions` was sent (set by `fetchPlatformInfo`). Only a listing with this time can
   * stand in for the launch's own listing (see `SubmitOptions.baselineMaxAgeMs`); leave it out for a cached
   * or hand-made list.
   */
  sessionsListedAt?: Date;
}

/** One reason a batch cannot be planned: which field, which value, which rule, what to do. */
export interface PlanProblem {
  field: string;
  value?: unknown;
  rule: string;
  hint?: string;
}

export interface BatchFile {
  /** Path relative to the batch folder. */
  path: string;
  content: string;
  executable?: boolean;
}

/** Everything decided before anything is written or launched. */
export interface BatchPlan {
  batchId: string;
  name: string;
  /** Batch folder relative to the store root: `<notebook dir>/canfar-batches/<batch-id>` (see paths.ts). */
  folder: string;
  /** Absolute path of the folder as the replicas see it (no spaces). */
  absoluteFolder: string;
  /** REPLICA_ID values to launch (1..N, or a subset for re-running failed replicas). */
  replicaIds: number[];
  /** REPLICA_COUNT. */
  replicaCount: number;
  /** Session spec shared by every replica (createReplicas adds name suffix, REPLICA_ID, REPLICA_COUNT). */
  spec: SessionSpec;
  files: BatchFile[];
  manifest: BatchManifest;
  conversion: Pick<
    ConversionResult,
    'language' | 'extension' | 'interpreter' | 'diagnostics' | 'parameters' | 'needsIPython'
  >;
  warnings: string[];
  /**
   * The headless sessions listed while planning (none of them carries a replica name: planning refuses
   * that), and when that listing was requested. submitBatch passes it to createReplicas as the launch's
   * baseline while it is recent, saving a round trip.
   */
  sessionListing?: { sessions: Session[]; requestedAt: Date };
}

/** The launch outcome of one replica, as recorded in `batch.json`. */
export type ReplicaLaunch =
  | { state: 'launched'; sessionId: string; attempts: number; reconciled?: boolean; at: string }
  | { state: 'failed'; code: string; status?: number; message: string; attempts: number; at: string }
  | { state: 'cancelled'; message: string; at: string };

/** What the monitor learnt about a replica and keeps (the platform forgets a session an hour after it ends). */
export interface ReplicaObserved {
  /** Last status seen in the session list. */
  status?: string;
  at?: string;
  /** The platform log and events were saved into the batch folder. */
  captured?: { log?: string; events?: string; at: string };
}

export interface ReplicaRecord {
  replica: number;
  name: string;
  launch?: ReplicaLaunch;
  observed?: ReplicaObserved;
}

export const MANIFEST_SCHEMA = 'jupyterlab-canfar/batch@1';

/** `batch.json`: who ran what, when, where, and what became of every replica. */
export interface BatchManifest {
  schema: typeof MANIFEST_SCHEMA;
  batchId: string;
  name: string;
  parent?: { batchId: string; replicaIds: number[] };
  notebook: { path: string; sha256: string; language: string };
  script: {
    file: string;
    sha256: string;
    interpreter: { command: string; args: string[] };
    policy: ConversionPolicy;
    diagnostics: ConversionDiagnostic[];
  };
  image: string;
  resources: { cores?: number; ram?: number; gpus?: number };
  replicaCount: number;
  replicaIds: number[];
  /** Every env name sent; values only for names that do not look secret. */
  env: { names: string[]; values: Record<string, string> };
  parameters: { declared: NotebookParameter[]; overrides: Record<string, string> };
  submittedAt: string;
  user?: string;
  endpoint?: string;
  /** Path of run.sh as the replicas see it. */
  command: { cmd: string; args: string[] };
  launch: {
    state: 'planned' | 'launching' | 'launched' | 'interrupted';
    startedAt?: string;
    endedAt?: string;
  };
  replicas: ReplicaRecord[];
  /**
   * When the user deleted the batch (its sessions). Listings (the panel, `canfar-lab batches`) hide it;
   * its folder, logs, status files and outputs stay where they are.
   */
  deletedAt?: string;
}

/** `status/replica-<i>.json`, written by run.sh inside the replica. */
export interface ReplicaStatusFile {
  schema?: number;
  batchId?: string;
  replica: number;
  state: 'running' | 'finished';
  host?: string;
  sessionId?: string;
  start?: string;
  end?: string;
  exitCode?: number;
  signal?: string;
}
