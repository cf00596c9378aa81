import type { ConversionDiagnostic, ConversionResult, NotebookParameter } from '../convert';
import type { Session, SessionSpec, SkahaContext, SkahaImage } from '../skaha';
import type { BatchShape } from './identity';
import type { SweepInput, SweepRecord } from './sweep';

/** The conversion policies of `convertNotebook` (how IPython magics are treated). */
export type ConversionPolicy = 'translate' | 'ipython' | 'comment';

/** What a user asks for: one notebook, run as `replicas` headless sessions. */
export interface BatchInput {
  /** Path of the notebook relative to the store's root, `/`-separated (e.g. `analysis/sweep.ipynb`). */
  notebookPath: string;
  /** The notebook's text exactly as stored (hashed into the manifest, parsed here). */
  notebookText: string;
  /**
   * Number of replicas, 1..512; with a sweep, the number of shards per parameter set (R): the batch then
   * runs S x R sessions (S sets), at most 512.
   */
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
  /**
   * Overrides of the notebook's `parameters` cell, `NAME -> value as written` (checked with the
   * parameter's type, see params.ts; sent as `CANFAR_PARAM_<NAME>` with encodeParamEnv, and only when
   * it differs from the notebook's default).
   */
  params?: Record<string, string>;
  /** A parameter sweep: axes (every combination) or an explicit list of sets (sweep.ts). */
  sweep?: SweepInput;
  /** Launch replica 1 alone; the others once it has completed with exit 0 (see `continueCanary`). */
  canary?: boolean;
  /**
   * Outputs every replica must write, relative to the notebook's folder (or absolute), with `{replica}`
   * (= the batch-wide index i), `{set}`, `{shard}` and `*`: a replica that exits 0 without one is
   * "completed, output missing", counted as failed.
   */
  expect?: string[];
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
  /** The parent's combine script, when it has one. */
  combineScript?: string;
  /** Replica ids to launch again (default: all of the parent's). Each keeps its set, shard and name. */
  replicaIds?: number[];
  /**
   * Launch again IN the parent's folder ("re-run failed"): same batch id and folder, nothing written but
   * batch.json (the replicas' old launches move to `history`), attempts continue in their status files.
   */
  inPlace?: { folder: string };
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

/** One replica to launch: who it is (identity.ts) and its own env (identity, the set's parameters). */
export interface PlannedReplica {
  replica: number;
  name: string;
  set: number;
  shard: number;
  env: Record<string, string>;
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
  /** Session spec shared by every replica (each replica's name and own env are in `replicas`). */
  spec: SessionSpec;
  /** S sets x R shards. */
  shape: BatchShape;
  /** The replicas to launch, in `replicaIds` order, each with its name and own env. */
  replicas: PlannedReplica[];
  /** The sweep's sets, when there is one. */
  sweep?: SweepRecord;
  /** Re-run failed: launches in the existing folder (nothing but batch.json is written). */
  inPlace?: boolean;
  files: BatchFile[];
  manifest: BatchManifest;
  conversion: Pick<
    ConversionResult,
    'language' | 'extension' | 'interpreter' | 'diagnostics' | 'parameters' | 'needsIPython'
  > & {
    /** 0-based indices of the cells tagged `combine`, when the batch has a combine step. */
    combineCells?: number[];
  };
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
  /** The session was seen Running (a later Pending is a requeue, not a queue). */
  started?: boolean;
  at?: string;
  /** The platform log and events were saved into the batch folder. */
  captured?: { log?: string; events?: string; at: string };
}

export interface ReplicaRecord {
  replica: number;
  name: string;
  /** Its parameter set (1..S) and shard (1..R), in a sweep. */
  set?: number;
  shard?: number;
  launch?: ReplicaLaunch;
  observed?: ReplicaObserved;
  /** Earlier launches of this replica ("re-run failed" in the same folder), oldest first. */
  history?: { launch?: ReplicaLaunch; observed?: ReplicaObserved }[];
}

/** The canary of a batch submitted with `canary`: replica 1 runs alone first. */
export interface CanaryRecord {
  replica: number;
  /** waiting: replica 1 runs; passed: the others were launched; failed: they never will be. */
  state: 'waiting' | 'passed' | 'failed';
  at?: string;
  message?: string;
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
  /** `overrides`: the batch-wide values sent (only those differing from the notebook's defaults), as text. */
  parameters: { declared: NotebookParameter[]; overrides: Record<string, string> };
  /** The sweep: its parameters, the table of sets (text values), R shards per set. */
  sweep?: SweepRecord;
  /**
   * Present when the batch has a combine step: the combine script and the notebook cells it holds, and
   * (written by a monitor once it ended) how it ended, from status/combine.json.
   */
  combine?: {
    file: string;
    cells: number[];
    outcome?: { state: string; replica?: number; exitCode?: number; end?: string; at: string };
    /**
     * The last "re-run combine" (`count` of them so far): the session launched to run attempt `attempt`
     * of the combine, or why it could not be launched.
     */
    rerun?: { count: number; attempt: number; name: string; at: string; sessionId?: string; error?: string };
  };
  /** Outputs every replica must write (BatchInput.expect). */
  expect?: string[];
  canary?: CanaryRecord;
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

/**
 * `status/replica-<i>.json` (and `status/combine.json`), written by run.sh inside the replica and
 * replaced atomically. Schema 2 (the round's memo, "Attempts"): `attempt` counts the runs of this
 * replica (preemption, re-run failed); `interrupted` (TERM, INT, HUP) is not a final outcome, the
 * platform may run the replica again; the final outcome is the last attempt's.
 */
export interface ReplicaStatusFile {
  schema?: number;
  batchId?: string;
  replica: number | 'combine';
  /** 1 for the first run (absent in schema 1 files). */
  attempt?: number;
  state: 'running' | 'finished' | 'interrupted';
  host?: string;
  sessionId?: string;
  start?: string;
  end?: string;
  exitCode?: number;
  signal?: string;
  /** Expected outputs (their patterns, placeholders filled in) absent after exit 0. */
  outputsMissing?: string[];
  /** combine.json: the replica that ran the combine, or "session" for a session of its own (rerun-combine). */
  runBy?: number | 'session';
}
