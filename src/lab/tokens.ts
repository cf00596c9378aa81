/**
 * The public surface of the CANFAR JupyterLab extension: tokens, command ids, settings, and the
 * interfaces and data the tokens provide. Other extensions depend on `ICanfarModel` to read the
 * sessions and batches the panel already polls, and on `ICanfarBatches` to plan and submit batches.
 *
 * This module imports nothing from its own folder: the model, the batch bridge and the views implement
 * or use what is declared here, never the other way round.
 */
import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { Poll } from '@lumino/polling';
import type { ISignal } from '@lumino/signaling';
import type {
  BatchCounts,
  BatchPhase,
  BatchView,
  CombineView,
  ParamValue,
  ReplicaState,
  SweepRecord,
} from '../batch';
import type { PlatformStats, Session, SessionEvent, SessionStatus, SkahaContext, SkahaImage } from '../skaha';

/** The id of the main plugin; also the id of its settings schema (schema/plugin.json). */
export const PLUGIN_ID = 'jupyterlab-canfar:plugin';

/** The gettext domain of every label of this extension. */
export const TRANSLATION_DOMAIN = 'jupyterlab_canfar';

/** The command ids of this extension (the schema's toolbar and menu entries name them too). */
export const CommandIDs = {
  submitNotebook: 'canfar:submit-notebook',
  openPanel: 'canfar:open-panel',
  /** Opens the panel on one batch (`id`: the batch's key), expanded and scrolled into view. */
  showBatch: 'canfar:show-batch',
  refresh: 'canfar:refresh',
  openLogs: 'canfar:open-logs',
  rerunBatch: 'canfar:rerun-batch',
  /** Runs the combine step of a batch again (`id`: the batch's key), after it failed. */
  rerunCombine: 'canfar:rerun-combine',
  openBatchScript: 'canfar:open-batch-script',
  openBatchFolder: 'canfar:open-batch-folder',
} as const;

// --- Settings -------------------------------------------------------------------------------------

/** The settings of schema/plugin.json, with their defaults applied. */
export interface ICanfarSettings {
  /** Informational: the server half decides the endpoint; the panel shows what it reports. */
  endpoint: string;
  defaultImage: string;
  defaultResources: IResources;
  /** Seconds between two polls of the session list. */
  refreshInterval: number;
  refreshWhenHidden: boolean;
  maxConcurrentSubmissions: number;
  conversionPolicy: 'translate' | 'ipython' | 'comment';
  confirmBeforeDelete: boolean;
  /**
   * Notify the first failure of a batch and its end. While a batch runs, the poll goes on with the
   * panel closed, so that they arrive.
   */
  notifications: boolean;
}

export interface IResources {
  /** Flexible: the platform picks (its /context defaultRequest, up to defaultLimit); fixed: request = limit. */
  flexible: boolean;
  cores: number;
  ram: number;
  gpus: number;
}

export const DEFAULT_SETTINGS: ICanfarSettings = {
  endpoint: '',
  defaultImage: '',
  defaultResources: { flexible: true, cores: 2, ram: 8, gpus: 0 },
  refreshInterval: 10,
  refreshWhenHidden: false,
  maxConcurrentSubmissions: 32,
  conversionPolicy: 'translate',
  confirmBeforeDelete: true,
  notifications: true,
};

/** Reads a composite settings object defensively: an invalid value falls back to its default. */
export function readSettings(composite: Partial<Record<keyof ICanfarSettings, unknown>>): ICanfarSettings {
  const d = DEFAULT_SETTINGS;
  const num = (value: unknown, fallback: number, min: number) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
  const bool = (value: unknown, fallback: boolean) => (typeof value === 'boolean' ? value : fallback);
  const res = (composite.defaultResources ?? {}) as Partial<Record<keyof IResources, unknown>>;
  const policy = composite.conversionPolicy;
  return {
    endpoint: typeof composite.endpoint === 'string' ? composite.endpoint : d.endpoint,
    defaultImage: typeof composite.defaultImage === 'string' ? composite.defaultImage : d.defaultImage,
    defaultResources: {
      flexible: bool(res.flexible, d.defaultResources.flexible),
      cores: num(res.cores, d.defaultResources.cores, 1),
      ram: num(res.ram, d.defaultResources.ram, 1),
      gpus: num(res.gpus, d.defaultResources.gpus, 0),
    },
    refreshInterval: num(composite.refreshInterval, d.refreshInterval, 1),
    refreshWhenHidden: bool(composite.refreshWhenHidden, d.refreshWhenHidden),
    maxConcurrentSubmissions: num(composite.maxConcurrentSubmissions, d.maxConcurrentSubmissions, 1),
    conversionPolicy:
      policy === 'translate' || policy === 'ipython' || policy === 'comment' ? policy : d.conversionPolicy,
    confirmBeforeDelete: bool(composite.confirmBeforeDelete, d.confirmBeforeDelete),
    notifications: bool(composite.notifications, d.notifications),
  };
}

// --- The server half ------------------------------------------------------------------------------

/** What the server half says about itself: which endpoint, as whom, with which kind of credential. */
export interface CanfarInfo {
  endpoint: string;
  url: string;
  user?: string | null;
  credential?: { kind: string; source?: string | null; expires?: string | null };
  ok: boolean;
  error?: string | null;
  version?: string;
  /** The server half and this extension do not match (another version, another JupyterLab): why, and what to do. */
  versionWarning?: string;
}

/** Why the panel cannot work, in words a user can act on. */
export interface Problem {
  kind: 'server-half-missing' | 'endpoint-unreachable' | 'unauthenticated' | 'jupyter-unreachable' | 'other';
  message: string;
}

export type InfoResult = { ok: true; info: CanfarInfo } | { ok: false; problem: Problem; info?: CanfarInfo };

// --- Batches as the panel sees them ----------------------------------------------------------------

/**
 * `Gone`: no longer (or never) in the session list and nothing else known; `Cancelled`: never launched
 * (the submission was stopped).
 */
export type ReplicaStatus = SessionStatus | 'Gone' | 'Cancelled';

// The monitor's own types (src/batch): one definition for the engine, the CLI, the kernels and the panel.
export type { BatchPhase, ReplicaState };

/** The combine step, run once every replica has completed (the batch's last step). */
export type CombineStep = CombineView;

/** A parameter sweep: S sets of values times R shards per set. */
export type SweepInfo = SweepRecord;

/** What the user asked for each replica (batch.json); absent values were left to the platform. */
export interface BatchResources {
  cores?: number;
  /** In GB, as asked (the platform reports GiB). */
  ram?: number;
  gpus?: number;
}

/** The monitor's counts (queued, requeued and output-missing included). */
export type BatchStateCounts = Partial<BatchCounts>;

/** Where a failed replica stopped, read from its log. */
export interface ReplicaFailure {
  /** 1-based notebook cell. */
  cell?: number;
  /** The exception's type, e.g. `FileNotFoundError`. */
  exception?: string;
  message?: string;
}

/** What the panel needs of a batch: src/batch's monitor view (manifest, status files) reduced. */
export interface BatchSummary {
  id: string;
  name: string;
  /** N: the replicas of this batch (a re-run of some replicas has those only; REPLICA_COUNT may be larger). */
  total: number;
  replicas: BatchReplicaSummary[];
  /** The batch folder, relative to the Jupyter server root. */
  folder?: string;
  createdAt?: string;
  /** The script the replicas run, relative to the server root. */
  script?: string;
  /**
   * The user deleted the batch (recorded in its batch.json): it is not shown, and its sessions, while
   * the platform still lists them (Terminating), are not shown as a batch of their own either.
   */
  deletedAt?: string;
  phase?: BatchPhase;
  combine?: CombineStep;
  sweep?: SweepInfo;
  resources?: BatchResources;
  counts?: BatchStateCounts;
}

export interface BatchReplicaSummary {
  index: number;
  name: string;
  sessionId?: string;
  /** What the batch's records say (exit code included), which wins over the session's status. */
  status?: ReplicaStatus;
  /** The monitor's finer state, when known (queued, requeued, output-missing...). */
  state?: ReplicaState;
  exitCode?: number;
  start?: string;
  end?: string;
  durationSeconds?: number;
  /** Why (launch failure, image pull error, failing cell). */
  message?: string;
  failure?: ReplicaFailure;
  /** Finished, and the platform has deleted the session since. */
  cleanedUp?: boolean;
  /** Which run of the replica this is (a preempted or re-run replica runs again). */
  attempt?: number;
  /** Sweeps: the parameter set (1..S), the shard within it (1..R), and the set's values as text. */
  set?: number;
  shard?: number;
  params?: Record<string, string>;
}

export interface ReplicaRow {
  /** 1-based replica index when known from the manifest or the name. */
  index?: number;
  name: string;
  session?: Session;
  /** The session the replica ran as, also when the platform no longer lists it. */
  sessionId?: string;
  status: ReplicaStatus;
  state?: ReplicaState;
  exitCode?: number;
  start?: Date;
  end?: Date;
  durationSeconds?: number;
  message?: string;
  failure?: ReplicaFailure;
  cleanedUp?: boolean;
  attempt?: number;
  set?: number;
  shard?: number;
  params?: Record<string, string>;
}

export interface BatchGroup {
  /** Stable key: the batch id when a manifest is known, else `name:<prefix>`. */
  key: string;
  name: string;
  /** N: from the manifest, else the largest replica index seen (or the count, if larger). */
  total: number;
  replicas: ReplicaRow[];
  counts: Partial<Record<ReplicaStatus, number>>;
  manifest?: BatchSummary;
}

export interface GroupedSessions {
  batches: BatchGroup[];
  others: Session[];
}

/** A session by id and name: enough to show its (saved) log or delete it, even once the platform forgot it. */
export interface SessionRef {
  id: string;
  name: string;
}

// --- The model ------------------------------------------------------------------------------------

/** The part of SkahaClient the model uses: a fake in tests, SkahaClient over the lab transport in Lab. */
export interface SessionService {
  list(filter?: { type?: Session['type']; status?: Session['status'] }): Promise<Session[]>;
  stats(): Promise<PlatformStats>;
  logs(id: string): Promise<string>;
  events(id: string): Promise<SessionEvent[]>;
  delete(id: string): Promise<void>;
  context(): Promise<SkahaContext>;
  images(type?: Session['type']): Promise<SkahaImage[]>;
  repositories(): Promise<string[]>;
}

export interface CanfarState {
  /** `loading` until the first answer; `error` while the last poll failed (the last data is kept). */
  phase: 'loading' | 'ready' | 'error';
  info?: CanfarInfo;
  problem?: Problem;
  sessions: Session[];
  grouped: GroupedSessions;
  stats?: PlatformStats;
  /** Why there are no stats (the service answers 503 when its metrics are unavailable). */
  statsProblem?: string;
  /** Why the batch folders could not be read (sessions are then grouped by name only). */
  batchProblem?: string;
  /** When the data last changed (a poll that finds nothing new changes nothing, this included). */
  updated?: Date;
}

export interface BatchSource {
  batches: (sessions: Session[]) => Promise<BatchSummary[]>;
  capturedLog?: (sessionId: string) => Promise<string | undefined>;
  /** Records that the user deleted this batch (its batch.json); the source then reports it `deletedAt`. */
  markDeleted?: (batchId: string) => Promise<void>;
}

/** The CANFAR sessions model: polled session list, batches, platform info and settings. */
export interface ICanfarModel extends IDisposable {
  readonly service: SessionService;
  /** Immutable; replaced (and `stateChanged` emitted) only when something changed. */
  readonly state: CanfarState;
  readonly settings: ICanfarSettings;
  readonly stateChanged: ISignal<ICanfarModel, CanfarState>;
  readonly settingsChanged: ISignal<ICanfarModel, ICanfarSettings>;
  /** When the last poll answered, whether or not anything changed. */
  readonly lastPolled: Date | undefined;
  readonly poll: Poll;
  start(): Promise<void>;
  /** Polls now, whatever the schedule, and resolves once that poll has finished. */
  refresh(): Promise<void>;
  setVisible(viewId: string, visible: boolean): void;
  setBatchSource(source: BatchSource): void;
  capturedLog(sessionId: string): Promise<string | undefined>;
  updateSettings(settings: ICanfarSettings): void;
  findBatch(key: string): BatchGroup | undefined;
  findSession(id: string): Session | undefined;
  deleteSession(id: string): Promise<void>;
  deleteBatch(group: BatchGroup): Promise<{ id: string; error: string }[]>;
}

// --- Submitting batches ---------------------------------------------------------------------------

export type Policy = ICanfarSettings['conversionPolicy'];

/** The submit dialog's validated value. */
export interface SubmitValue {
  name: string;
  image: string;
  /** Absent: flexible resources. */
  cores?: number;
  ram?: number;
  gpus?: number;
  replicas: number;
  env: Record<string, string>;
  /** Overrides of the notebook's `parameters` cell (only values that differ from the default). */
  params: Record<string, string>;
  /** The swept parameters and their values (every combination), when any. */
  sweep?: Record<string, ParamValue[]>;
  canary?: boolean;
  expect?: string[];
  policy: Policy;
}

export interface NotebookParameterInfo {
  name: string;
  type: string;
  default: string;
}

/** What the platform and the notebook offer the dialog. */
export interface SubmitContext {
  notebookPath: string;
  context?: SkahaContext;
  images?: SkahaImage[];
  repositories?: string[];
  /** The image of the session running this JupyterLab, when it can be told. */
  currentImage?: string;
  parameters?: NotebookParameterInfo[];
  /** Why the platform's options could not be read (the dialog still works, with fewer checks). */
  platformProblem?: string;
}

export interface PlanPreview {
  names: string[];
  /** The sweep: how many sets, shards per set, and the sets to list (the first and last few). */
  sweep?: {
    parameters: string[];
    setCount: number;
    shards: number;
    sets: { set: number; values: Record<string, string>; sessions: string[] }[];
  };
  canary?: boolean;
  /** 1-based numbers of the cells tagged `combine`. */
  combineCells?: number[];
  folder: string;
  absoluteFolder?: string;
  resources: string;
  image: string;
  warnings: string[];
}

export interface PreviewResult {
  plan?: PlanPreview;
  /** Problems of the request, per form field (`plan` for the others). */
  problems?: { field: string; message: string }[];
}

export interface SubmitRequest {
  notebookPath: string;
  notebookText: string;
  value: SubmitValue;
  settings: ICanfarSettings;
  platform: SubmitContext;
  user?: string;
  endpoint?: string;
  /** The sessions of the last poll: a replica name already in use is refused. */
  sessions?: Session[];
  /**
   * The batch's id (the dialog's proposed name ends with its last 4 characters, as the CLI's default
   * name does); default: a new random one.
   */
  batchId?: string;
}

export interface SubmitOutcome {
  batchId: string;
  folder: string;
  launched: number;
  failed: number;
  total: number;
  /** "replica 3: <reason>" lines for the failures. */
  failures: string[];
}

/** What the dialog needs from src/batch: a plan preview, and the submission itself. */
export interface BatchBackend {
  /** Reads the notebook's `parameters` cell (src/convert). */
  parameters(notebook: unknown): NotebookParameterInfo[];
  preview(request: SubmitRequest): Promise<PreviewResult>;
  /** Plans, writes the batch folder and launches the replicas, reporting progress. */
  submit(request: SubmitRequest, progress: (text: string) => void): Promise<SubmitOutcome>;
}

/** Batches through the Jupyter contents API: plans, submissions, re-runs, saved logs. */
export interface ICanfarBatches extends BatchBackend {
  /** The batches joined with the sessions of this poll. */
  batches(sessions: Session[]): Promise<BatchSummary[]>;
  /** The monitor's view of a batch the panel shows (its key is the batch id). */
  view(batchId: string): BatchView | undefined;
  /** The log run.sh saved for the replica that ran as this session, when its batch is known. */
  capturedLog(sessionId: string): Promise<string | undefined>;
  markDeleted(batchId: string): Promise<void>;
  /** Runs a batch again (all replicas, or only those that failed), with its own script. */
  rerun(
    batchId: string,
    onlyFailed: boolean,
    concurrency: number,
    progress: (text: string) => void,
  ): Promise<SubmitOutcome>;
}

// --- Tokens ---------------------------------------------------------------------------------------

/** The model of the CANFAR panel, shared with the Running panel section, the log viewer and the submit command. */
export const ICanfarModel = new Token<ICanfarModel>(
  'jupyterlab-canfar:ICanfarModel',
  'The CANFAR sessions model: polled session list, batches, platform info and settings.',
);

/** The batches (src/batch through the contents API): plans, submissions, re-runs, saved logs. */
export const ICanfarBatches = new Token<ICanfarBatches>(
  'jupyterlab-canfar:ICanfarBatches',
  'CANFAR batches: submit a notebook as N replicas, re-run, and read the batch folders.',
);
