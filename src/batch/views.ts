/**
 * Views of a monitored batch shared by the CLI, the kernel and the lab: one row per parameter set (a
 * sweep's results, readable into pandas with one call), and the columns of a replica table.
 */
import type { BatchView, ReplicaState, ReplicaView } from './monitor';
import { joinPath } from './store';

/** One parameter set of a batch: its values as columns, then its replicas' outcomes in shard order. */
export interface SetRow {
  set: number;
  /** The set's values (text), as columns of their own. */
  [parameter: string]: unknown;
  replicas: number[];
  states: ReplicaState[];
  exitCodes: (number | null)[];
  attempts: (number | null)[];
  logs: string[];
  /** Every replica of the set completed. */
  ok: boolean;
}

const ROW_KEYS = new Set(['set', 'replicas', 'states', 'exitCodes', 'attempts', 'logs', 'ok']);

/**
 * A row per parameter set (one row, set 1, without a sweep): the set's values, and its replicas' states,
 * exit codes, attempts and log paths (under `folder`, e.g. the batch folder's absolute path). A parameter
 * named like a row field is given as `param_<name>`.
 */
export function setRows(view: BatchView, folder: string = view.folder): SetRow[] {
  const sweep = view.manifest.sweep;
  const overrides = view.manifest.parameters?.overrides ?? {};
  const count = sweep ? sweep.sets.length : 1;
  const rows: SetRow[] = [];
  for (let set = 1; set <= count; set++) {
    const members = view.replicas.filter((r) => (r.set ?? 1) === set);
    const values = { ...overrides, ...(sweep?.sets[set - 1] ?? {}) };
    rows.push({
      set,
      ...Object.fromEntries(Object.entries(values).map(([k, v]) => [ROW_KEYS.has(k) ? `param_${k}` : k, v])),
      replicas: members.map((r) => r.replica),
      states: members.map((r) => r.state),
      exitCodes: members.map((r) => r.exitCode ?? null),
      attempts: members.map((r) => r.attempt ?? null),
      logs: members.map((r) => joinPath(folder, 'logs', `replica-${r.replica}.log`)),
      ok: members.length > 0 && members.every((r) => r.state === 'completed'),
    });
  }
  return rows;
}

/** The state of a replica with its attempt when it ran more than once: `running (attempt 2)`. */
export function stateText(replica: ReplicaView): string {
  const attempt = replica.attempt && replica.attempt > 1 ? ` (attempt ${replica.attempt})` : '';
  return `${replica.state}${attempt}${replica.cleanedUp ? ' (cleaned up)' : ''}`;
}

/** The parameter columns of a batch's replica table: the swept parameters, in order. */
export function parameterColumns(view: BatchView): string[] {
  return view.manifest.sweep?.parameters ?? [];
}
