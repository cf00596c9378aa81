// The notebook outputs of the kernel commands (the Python `%canfar` magic, the JS kernels' `canfar`), shared by
// the kernels that emit them and the JupyterLab extension that renders them as live widgets. The kernel sends
// the data below beside `text/html` and `text/plain` snapshots, which other frontends show (nbviewer, GitHub).
// The Python side builds the same shapes (jupyterlab_canfar/kernel/outputs.py).
import type { BatchCounts, BatchView, CombineView, ReplicaState } from './monitor';

/** One batch: its id and folder (where the renderer follows it live), and a snapshot of its state. */
export const BATCH_MIME = 'application/vnd.canfar.batch+json';
/** A session list (`ps`, `sessions()`), as listed at `listedAt`. */
export const SESSIONS_MIME = 'application/vnd.canfar.sessions+json';

export const NOTEBOOK_OUTPUT_VERSION = 1;

/**
 * `submitting`: the kernel asked for it, nothing is known launched yet; `launched`: the launch is over;
 * `running`/`done`: from a monitor poll; `failed`: it was not launched (see `error`).
 */
export type BatchOutputPhase = 'submitting' | 'launched' | 'running' | 'done' | 'failed';

export interface BatchOutputReplica {
  replica: number;
  name?: string;
  sessionId?: string;
  /** The monitor's ReplicaState (newer states may appear: renderers show unknown ones as they are). */
  state: ReplicaState | (string & {});
  exitCode?: number;
  durationSeconds?: number;
  message?: string;
  failure?: { cell?: number; cellLabel?: string; error?: string };
  attempt?: number;
}

export interface BatchOutputData {
  version: typeof NOTEBOOK_OUTPUT_VERSION;
  batchId: string;
  name?: string;
  /** The notebook the batch runs, relative to where it was submitted. */
  notebook?: string;
  /** The batch folder relative to the Jupyter server's root (`/`-separated), when known. */
  folder?: string;
  /** Its absolute path (the CLI and JS kernels know this one); the renderer maps it under the server root. */
  absoluteFolder?: string;
  /** The Python kernel's request to the JupyterLab extension (server half relay), while submitting. */
  request?: string;
  phase: BatchOutputPhase;
  counts?: Partial<BatchCounts>;
  replicas?: BatchOutputReplica[];
  /** The combine step, when the batch has one (as the monitor sees it). */
  combine?: CombineView;
  /** While submitting: replicas launched so far, of `total`. */
  launched?: number;
  total?: number;
  warnings?: string[];
  /** Why it was not launched (phase `failed`). */
  error?: { message: string; problems?: string[] };
  /** When the snapshot was taken (ISO 8601). */
  at: string;
}

export interface SessionsOutputData {
  version: typeof NOTEBOOK_OUTPUT_VERSION;
  /** As `canfar-lab ps --json` gives them: times as ISO strings, numbers as numbers. */
  sessions: Record<string, unknown>[];
  listedAt: string;
}

/** The output data of a monitor view (`folder` as the caller's store sees it: relative or absolute). */
export function batchOutputOf(
  view: BatchView,
  where: { folder?: string; absoluteFolder?: string; request?: string } = {},
  at: Date = new Date(),
): BatchOutputData {
  return {
    version: NOTEBOOK_OUTPUT_VERSION,
    batchId: view.batchId,
    name: view.name,
    notebook: view.manifest.notebook.path,
    ...(where.folder !== undefined ? { folder: where.folder } : {}),
    ...(where.absoluteFolder ? { absoluteFolder: where.absoluteFolder } : {}),
    ...(where.request ? { request: where.request } : {}),
    phase: view.done ? 'done' : 'running',
    counts: view.counts,
    ...(view.combine ? { combine: view.combine } : {}),
    replicas: view.replicas.map((r) => ({
      replica: r.replica,
      name: r.name,
      state: r.state,
      ...(r.sessionId ? { sessionId: r.sessionId } : {}),
      ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
      ...(r.durationSeconds !== undefined ? { durationSeconds: r.durationSeconds } : {}),
      ...(r.attempt !== undefined ? { attempt: r.attempt } : {}),
      ...(r.message ? { message: r.message } : {}),
      ...(r.failure
        ? {
            failure: {
              ...(r.failure.cell !== undefined ? { cell: r.failure.cell } : {}),
              ...(r.failure.cellLabel ? { cellLabel: r.failure.cellLabel } : {}),
              ...(r.failure.error ? { error: r.failure.error } : {}),
            },
          }
        : {}),
    })),
    at: at.toISOString(),
  };
}

/** Checks the shape of output data read back from a notebook (any producer, any version may be there). */
export function readBatchOutput(data: unknown): BatchOutputData | undefined {
  if (!data || typeof data !== 'object') return undefined;
  const value = data as Partial<BatchOutputData>;
  if (typeof value.batchId !== 'string' || !/^[a-z0-9-]{1,64}$/.test(value.batchId)) return undefined;
  return { ...value, phase: value.phase ?? 'running', at: value.at ?? '' } as BatchOutputData;
}
