// The values the notebook commands return: plain data (arrays of sessions, batch views...) that also
// render as an HTML table, JSON and text in every kernel (render.ts).
import {
  BATCH_MIME,
  batchOutputOf,
  combineRunner,
  describeOutcome,
  NOTEBOOK_OUTPUT_VERSION,
  oneLine,
  SESSIONS_MIME,
  setRows,
  stateText,
} from '../../batch';
import type { BatchCounts, BatchOutputData, BatchView, CombineView, ReplicaView } from '../../batch';
import type { PlatformStats, ReplicaOutcome, Session, SessionEvent } from '../../skaha';
import {
  displayable,
  escapeHtml,
  htmlPre,
  htmlTable,
  plainData,
  textTable,
  type Column,
  type MimeBundle,
} from './render';

const SESSION_COLUMNS: Column<Session>[] = [
  { header: 'ID', value: (s) => s.id },
  { header: 'NAME', value: (s) => s.name },
  { header: 'KIND', value: (s) => s.type },
  { header: 'STATUS', value: (s) => s.status },
  { header: 'STARTED', value: (s) => s.startTime },
  { header: 'CORES', value: (s) => s.requestedCPUCores, right: true },
  { header: 'RAM GB', value: (s) => s.requestedRAM, right: true },
  { header: 'IMAGE', value: (s) => s.image },
];

/** The caller's sessions, as returned by `sessions()`: an array of `Session`. */
export class SessionTable extends Array<Session> {
  // Private (not an enumerable property): the table stays equal to a plain array of its sessions.
  readonly #listedAt = new Date();
  /** When the sessions were listed. */
  get listedAt(): Date {
    return this.#listedAt;
  }
  // map/filter give plain arrays: the table is a view of one listing, not a type to propagate.
  static override get [Symbol.species]() {
    return Array;
  }
  static list(items: readonly Session[]): SessionTable {
    const table = new SessionTable();
    table.push(...items);
    return table;
  }
  /** The sessions without the service's raw JSON. */
  toJSON(): Omit<Session, 'raw'>[] {
    return plainData([...this].map(({ raw: _raw, ...rest }) => rest));
  }
  mimeBundle(): MimeBundle {
    const sessions = [...this];
    const caption = `${sessions.length} session(s)`;
    return {
      'text/plain': sessions.length ? `${caption}\n${textTable(sessions, SESSION_COLUMNS)}` : 'no sessions',
      'text/html': htmlTable(sessions, SESSION_COLUMNS, { caption, kind: 'sessions', empty: 'no sessions' }),
      'application/json': { sessions: this.toJSON() },
      // The JupyterLab extension shows it with each session's status now (src/lab/outputs).
      [SESSIONS_MIME]: {
        version: NOTEBOOK_OUTPUT_VERSION,
        sessions: this.toJSON(),
        listedAt: this.listedAt.toISOString(),
      },
    };
  }
}
displayable(SessionTable);

const OUTCOME_COLUMNS: Column<ReplicaOutcome>[] = [
  { header: 'REPLICA', value: (o) => o.replica, right: true },
  { header: 'NAME', value: (o) => o.name },
  { header: 'SESSION', value: (o) => (o.ok ? o.sessionId : '') },
  {
    header: 'OUTCOME',
    value: (o) =>
      o.ok
        ? `launched${o.reconciled ? ' (found by name after an ambiguous failure)' : ''}`
        : `${o.code}${o.status ? ` ${o.status}` : ''}: ${o.message}`,
  },
];

/** `launch()`: one outcome per replica, in replica order. */
export class LaunchResult extends Array<ReplicaOutcome> {
  static override get [Symbol.species]() {
    return Array;
  }
  static list(items: readonly ReplicaOutcome[]): LaunchResult {
    const result = new LaunchResult();
    result.push(...items);
    return result;
  }
  /** Session ids of the replicas that were launched. */
  get ids(): string[] {
    return this.flatMap((o) => (o.ok ? [o.sessionId] : []));
  }
  get failed(): ReplicaOutcome[] {
    return this.filter((o) => !o.ok);
  }
  mimeBundle(): MimeBundle {
    const outcomes = [...this];
    const caption = `${this.ids.length} of ${outcomes.length} replica(s) launched`;
    return {
      'text/plain': `${caption}\n${textTable(outcomes, OUTCOME_COLUMNS)}`,
      'text/html': htmlTable(outcomes, OUTCOME_COLUMNS, { caption, kind: 'launch' }),
      'application/json': { outcomes: plainData(outcomes) },
    };
  }
}
displayable(LaunchResult);

/** "2/4 done, 1 running, 1 pending, 12 waiting in the platform's queue, 1 failed". */
export function countsSummary(counts: BatchCounts): string {
  const parts = [
    `${counts.completed + counts.failed + counts.cancelled}/${counts.total} done`,
    `${counts.running} running`,
    `${counts.pending + counts.launching} pending`,
  ];
  if (counts.queued) parts.push(`${counts.queued} waiting in the platform's queue`);
  if (counts.requeued) parts.push(`${counts.requeued} requeued after preemption`);
  if (counts.failed)
    parts.push(
      `${counts.failed} failed${counts.outputMissing ? ` (${counts.outputMissing} with output missing)` : ''}`,
    );
  if (counts.cancelled) parts.push(`${counts.cancelled} cancelled`);
  return parts.join(', ');
}

/** "combine completed (replica 4)", "combine skipped: ...". */
export function combineSummary(combine: CombineView): string {
  return `combine ${combine.state}${combineRunner(combine) !== undefined ? ` (${combineRunner(combine)}${combine.exitCode !== undefined ? `, exit ${combine.exitCode}` : ''})` : ''}${combine.message ? `: ${combine.message}` : ''}`;
}

/** Why a replica is not fine, in one phrase (empty when it is). */
export function replicaDetail(r: ReplicaView): string {
  if (r.state === 'completed' || r.state === 'running' || r.state === 'pending' || r.state === 'launching')
    return r.state === 'launching' ? (r.message ?? '') : '';
  if (r.state === 'queued' || r.state === 'requeued') return r.message ?? '';
  if (r.state === 'output-missing') return `output missing: ${(r.outputsMissing ?? []).join(', ')}`;
  const parts: string[] = [];
  if (r.failure?.cell !== undefined) parts.push(`cell ${r.failure.cell}`);
  if (r.failure?.error) parts.push(r.failure.error);
  else if (r.message) parts.push(r.message);
  return parts.join(': ') || describeOutcome(r);
}

/** The replica table's columns: with a sweep, the set and each swept parameter's value. */
function replicaColumns(view: BatchView): Column<ReplicaView>[] {
  const sweep = view.manifest.sweep;
  return [
    { header: 'REPLICA', value: (r) => r.replica, right: true },
    ...(sweep
      ? [
          { header: 'SET', value: (r: ReplicaView) => r.set, right: true },
          ...(sweep.shards > 1 ? [{ header: 'SHARD', value: (r: ReplicaView) => r.shard, right: true }] : []),
          ...sweep.parameters.map((name) => ({
            header: name,
            value: (r: ReplicaView) => oneLine(r.params?.[name] ?? '', 24),
          })),
        ]
      : []),
    { header: 'NAME', value: (r) => r.name },
    { header: 'SESSION', value: (r) => r.sessionId },
    { header: 'STATE', value: stateText },
    { header: 'EXIT', value: (r) => r.exitCode, right: true },
    {
      header: 'TIME',
      value: (r) => (r.durationSeconds === undefined ? '' : `${r.durationSeconds}s`),
      right: true,
    },
    { header: 'DETAIL', value: replicaDetail },
  ];
}

/** One batch and each of its replicas (`watch()`, `batch()`), from a monitor poll. */
export class BatchStatus {
  /** Set by watch(): the table was shown live above, so the returned value renders as one line. */
  shownLive = false;
  constructor(
    readonly view: BatchView,
    /** Absolute path of the batch folder. */
    readonly folder: string,
  ) {}
  get batchId(): string {
    return this.view.batchId;
  }
  get done(): boolean {
    return this.view.done;
  }
  get counts(): BatchCounts {
    return this.view.counts;
  }
  get replicas(): ReplicaView[] {
    return this.view.replicas;
  }
  /** Every replica completed with exit code 0. */
  get ok(): boolean {
    return this.view.done && this.view.counts.completed === this.view.counts.total;
  }
  /** Every replica completed with exit 0, and the combine step too when there is one. */
  get succeeded(): boolean {
    return this.ok && (!this.view.combine || this.view.combine.state === 'completed');
  }
  /** A row per parameter set (one without a sweep): values, states, exit codes, attempts, log paths. */
  get sets(): ReturnType<typeof setRows> {
    return setRows(this.view, this.folder);
  }
  get summary(): string {
    const phase =
      this.view.phase === 'canary'
        ? 'canary: replica 1 runs alone; '
        : this.view.phase === 'stopped'
          ? 'stopped by its canary; '
          : '';
    return `batch ${this.view.batchId} (${this.view.name}): ${phase}${countsSummary(this.view.counts)}${this.view.combine ? `, ${combineSummary(this.view.combine)}` : ''}`;
  }
  toJSON(): Record<string, unknown> {
    const { manifest, ...view } = this.view;
    return plainData({
      ...view,
      folder: this.folder,
      notebook: manifest.notebook.path,
      image: manifest.image,
      submittedAt: manifest.submittedAt,
      ...(manifest.sweep ? { sweep: manifest.sweep } : {}),
      sets: this.sets,
    });
  }
  mimeBundle(): MimeBundle {
    const json = this.toJSON();
    if (this.shownLive) {
      return {
        'text/plain': this.summary,
        'text/html': `<p data-canfar="batch-summary">${escapeHtml(this.summary)}</p>`,
        'application/json': json,
      };
    }
    const m = this.view.manifest;
    const caption = `${this.summary} · ${m.notebook.path} · ${m.image}`;
    return {
      'text/plain': `${caption}\nfolder ${this.folder}\n${textTable(this.view.replicas, replicaColumns(this.view))}`,
      'text/html': htmlTable(this.view.replicas, replicaColumns(this.view), { caption, kind: 'batch' }),
      'application/json': json,
      // In JupyterLab with the CANFAR extension: the batch's live status, following it (src/lab/outputs).
      [BATCH_MIME]: batchOutputOf(this.view, { absoluteFolder: this.folder }),
    };
  }
}
displayable(BatchStatus);

const BATCH_COLUMNS: Column<BatchStatus>[] = [
  { header: 'BATCH', value: (b) => b.view.batchId },
  { header: 'NAME', value: (b) => b.view.name },
  { header: 'N', value: (b) => b.counts.total, right: true },
  { header: 'QUEUED', value: (b) => b.counts.queued + b.counts.requeued, right: true },
  { header: 'PENDING', value: (b) => b.counts.pending + b.counts.launching, right: true },
  { header: 'RUNNING', value: (b) => b.counts.running, right: true },
  {
    header: 'DONE',
    value: (b) => `${b.counts.completed + b.counts.failed + b.counts.cancelled}/${b.counts.total}`,
    right: true,
  },
  { header: 'FAILED', value: (b) => b.counts.failed, right: true },
  {
    header: 'PHASE',
    value: (b) => `${b.view.phase}${b.view.combine ? ` (combine ${b.view.combine.state})` : ''}`,
  },
  { header: 'NOTEBOOK', value: (b) => b.view.manifest.notebook.path },
];

/** `batches()`: the batches found, newest first. */
export class BatchTable extends Array<BatchStatus> {
  static override get [Symbol.species]() {
    return Array;
  }
  static list(items: readonly BatchStatus[]): BatchTable {
    const table = new BatchTable();
    table.push(...items);
    return table;
  }
  mimeBundle(): MimeBundle {
    const batches = [...this];
    const caption = `${batches.length} batch(es)`;
    return {
      'text/plain': batches.length ? `${caption}\n${textTable(batches, BATCH_COLUMNS)}` : 'no batches',
      'text/html': htmlTable(batches, BATCH_COLUMNS, { caption, kind: 'batches', empty: 'no batches' }),
      'application/json': { batches: batches.map((b) => b.toJSON()) },
    };
  }
}
displayable(BatchTable);

/** `submit()`: the batch as launched (replica outcomes), with what planning warned about. */
export class SubmittedBatch {
  constructor(
    readonly batchId: string,
    readonly folder: string,
    readonly launched: number,
    readonly failed: number,
    readonly cancelled: number,
    readonly outcomes: LaunchResult,
    readonly warnings: string[],
  ) {}
  toJSON(): Record<string, unknown> {
    return plainData({
      batchId: this.batchId,
      folder: this.folder,
      launched: this.launched,
      failed: this.failed,
      cancelled: this.cancelled,
      outcomes: [...this.outcomes],
      warnings: this.warnings,
    });
  }
  mimeBundle(): MimeBundle {
    const total = this.outcomes.length;
    const caption = `batch ${this.batchId}: ${this.launched}/${total} replica(s) launched${this.failed ? `, ${this.failed} failed to launch` : ''}${this.cancelled ? `, ${this.cancelled} cancelled` : ''}`;
    const warnings = this.warnings.map((w) => `warning: ${w}`);
    return {
      'text/plain': [
        caption,
        `folder ${this.folder}`,
        ...warnings,
        textTable([...this.outcomes], OUTCOME_COLUMNS),
      ].join('\n'),
      'text/html': [
        htmlTable([...this.outcomes], OUTCOME_COLUMNS, { caption, kind: 'submit' }),
        ...warnings.map((w) => `<p data-canfar="warning">${escapeHtml(w)}</p>`),
      ].join('\n'),
      'application/json': this.toJSON(),
      [BATCH_MIME]: this.outputData(),
    };
  }

  /** The batch as launched, for the JupyterLab extension's live output (it follows it from there). */
  outputData(): BatchOutputData {
    return {
      version: NOTEBOOK_OUTPUT_VERSION,
      batchId: this.batchId,
      absoluteFolder: this.folder,
      phase: 'launched',
      launched: this.launched,
      total: this.outcomes.length,
      replicas: [...this.outcomes].map((o) => ({
        replica: o.replica,
        name: o.name,
        ...(o.ok
          ? { sessionId: o.sessionId, state: 'pending' }
          : { state: 'launch-failed', message: o.message }),
      })),
      ...(this.warnings.length ? { warnings: this.warnings } : {}),
      at: new Date().toISOString(),
    };
  }
}
displayable(SubmittedBatch);

const EVENT_COLUMNS: Column<SessionEvent>[] = [
  { header: 'TYPE', value: (e) => e.type },
  { header: 'REASON', value: (e) => e.reason },
  { header: 'FIRST', value: (e) => e.firstTime },
  { header: 'LAST', value: (e) => e.lastTime },
  { header: 'MESSAGE', value: (e) => e.message },
];

/** `events(id)`: the session's Kubernetes-style events. */
export class EventTable extends Array<SessionEvent> {
  static override get [Symbol.species]() {
    return Array;
  }
  static list(items: readonly SessionEvent[]): EventTable {
    const table = new EventTable();
    table.push(...items);
    return table;
  }
  mimeBundle(): MimeBundle {
    const events = [...this];
    return {
      'text/plain': events.length ? textTable(events, EVENT_COLUMNS) : 'no events',
      'text/html': htmlTable(events, EVENT_COLUMNS, { kind: 'events', empty: 'no events' }),
      'application/json': { events: plainData(events) },
    };
  }
}
displayable(EventTable);

/** `stats()`: the platform's load. */
export class StatsView {
  constructor(readonly stats: PlatformStats) {}
  get cores(): PlatformStats['cores'] {
    return this.stats.cores;
  }
  get ram(): PlatformStats['ram'] {
    return this.stats.ram;
  }
  toJSON(): Record<string, unknown> {
    return plainData({ cores: this.stats.cores, ram: this.stats.ram });
  }
  mimeBundle(): MimeBundle {
    const rows = [
      {
        what: 'cores',
        requested: this.cores.requested,
        available: this.cores.available,
        max: this.cores.maxPerSession,
      },
      {
        what: 'RAM GB',
        requested: this.ram.requestedGB,
        available: this.ram.availableGB,
        max: this.ram.maxPerSessionGB,
      },
    ];
    const columns: Column<(typeof rows)[number]>[] = [
      { header: '', value: (r) => r.what },
      { header: 'REQUESTED', value: (r) => r.requested, right: true },
      { header: 'AVAILABLE', value: (r) => r.available, right: true },
      { header: 'MAX PER SESSION', value: (r) => r.max, right: true },
    ];
    return {
      'text/plain': textTable(rows, columns),
      'text/html': htmlTable(rows, columns, { kind: 'stats' }),
      'application/json': this.toJSON(),
    };
  }
}
displayable(StatsView);

/** A session's whole log (`await logs(id)`). */
export class LogText {
  constructor(
    readonly id: string,
    readonly text: string,
  ) {}
  get lines(): string[] {
    return this.text.split(/\r?\n/).filter((line, i, all) => line !== '' || i < all.length - 1);
  }
  toJSON(): Record<string, unknown> {
    return { id: this.id, log: this.text };
  }
  mimeBundle(): MimeBundle {
    return {
      'text/plain': this.text,
      'text/html': htmlPre(this.text, 'log'),
      'application/json': this.toJSON(),
    };
  }
}
displayable(LogText);

/** `deleteBatch(id)`: which sessions were deleted and which could not be. */
export class DeleteResult {
  constructor(
    readonly batchId: string,
    readonly deleted: string[],
    readonly failed: { replica: number; sessionId: string; message: string }[],
  ) {}
  toJSON(): Record<string, unknown> {
    return { batchId: this.batchId, deleted: this.deleted, failed: this.failed };
  }
  mimeBundle(): MimeBundle {
    const lines = [
      `batch ${this.batchId}: ${this.deleted.length} session(s) deleted${this.failed.length ? `, ${this.failed.length} not deleted` : ''}`,
      ...this.failed.map((f) => `replica ${f.replica} (${f.sessionId}): ${f.message}`),
    ];
    return {
      'text/plain': lines.join('\n'),
      'text/html': lines.map((l) => `<p data-canfar="delete">${escapeHtml(l)}</p>`).join(''),
      'application/json': this.toJSON(),
    };
  }
}
displayable(DeleteResult);
