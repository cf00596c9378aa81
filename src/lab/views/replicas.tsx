/**
 * The replica list of an expanded batch: filtered (all, failed, running, pending), sorted (replica,
 * status, duration, or a swept parameter), filtered by parameter value, and paged, so that a batch of
 * 500 puts at most one page of rows in the DOM. One row per replica: name, its parameters in columns,
 * what it does, how long it ran, its exit code and its actions; then its session, start, resources and
 * why it failed.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { formatResources, replicaKind, sweptParameters } from '../grouping';
import type { BatchGroup, ReplicaRow, SessionRef } from '../tokens';
import { rowKey } from './grid';
import { endedDuration, formatRunningFor, formatStart, replicaLabel } from './labels';
import type { BatchUi, Clock, ReplicaFilter } from './state';
import { useNow } from './state';
import { PanelButton } from './button';

export const PAGE_SIZE = 50;

/** What a replica row's buttons do. */
export interface ReplicaRowActions {
  openLogs(session: SessionRef, tab: 'log' | 'events'): void;
  deleteSession(session: SessionRef): void;
}

/** A session's Logs, Events and (when it still exists) Delete buttons: replicas and other sessions alike. */
export function SessionButtons({
  session,
  trans,
  actions,
  canDelete = true,
}: {
  session: SessionRef;
  trans: TranslationBundle;
  actions: ReplicaRowActions;
  canDelete?: boolean;
}): JSX.Element {
  return (
    <span className="jp-CanfarPanel-actions">
      <PanelButton
        action="logs"
        title={trans.__('Show the log of %1', session.name)}
        onClick={() => actions.openLogs(session, 'log')}
      >
        {trans.__('Logs')}
      </PanelButton>
      <PanelButton
        action="events"
        title={trans.__('Show the events of %1', session.name)}
        onClick={() => actions.openLogs(session, 'events')}
      >
        {trans.__('Events')}
      </PanelButton>
      {canDelete && (
        <PanelButton
          action="delete"
          title={trans.__('Delete session %1', session.name)}
          onClick={() => actions.deleteSession(session)}
        >
          {trans.__('Delete')}
        </PanelButton>
      )}
    </span>
  );
}

export interface ReplicaListProps {
  group: BatchGroup;
  ui: BatchUi;
  trans: TranslationBundle;
  clock: Clock;
  /** Resources as asked for the whole batch: rows then show none of their own. */
  batchResources: boolean;
  actions: ReplicaRowActions;
  onChange: (key: string, change: Partial<BatchUi>) => void;
}

const FILTERS: ReplicaFilter[] = ['all', 'failed', 'running', 'pending'];

function matches(row: ReplicaRow, filter: ReplicaFilter): boolean {
  return filter === 'all' || replicaKind(row) === filter;
}

const KIND_RANK = { failed: 0, running: 1, pending: 2, completed: 3, other: 4 };

function sortValue(row: ReplicaRow, sortBy: string): number | string {
  if (sortBy === 'status') return KIND_RANK[replicaKind(row)];
  if (sortBy === 'duration') {
    // Running replicas count as the longest, the earliest started first: the potential stragglers.
    if (replicaKind(row) === 'running' && row.start) return 1e15 - row.start.getTime();
    if (row.durationSeconds !== undefined) return row.durationSeconds * 1000;
    return row.start && row.end ? row.end.getTime() - row.start.getTime() : -1;
  }
  if (sortBy.startsWith('param:')) return row.params?.[sortBy.slice(6)] ?? '';
  return row.index ?? 0;
}

const collator = new Intl.Collator(undefined, { numeric: true });

/** The rows the list shows, in order, before paging. */
export function visibleRows(group: BatchGroup, ui: BatchUi): ReplicaRow[] {
  const params = Object.entries(ui.params);
  const rows = group.replicas.filter(
    (row) => matches(row, ui.filter) && params.every(([name, value]) => row.params?.[name] === value),
  );
  if (ui.sortBy !== 'replica' || ui.descending) {
    const keyed = rows.map((row) => ({ row, value: sortValue(row, ui.sortBy) }));
    keyed.sort((a, b) => {
      const order =
        typeof a.value === 'number' && typeof b.value === 'number'
          ? a.value - b.value
          : collator.compare(String(a.value), String(b.value));
      return (ui.descending ? -order : order) || (a.row.index ?? 0) - (b.row.index ?? 0);
    });
    return keyed.map((k) => k.row);
  }
  return rows;
}

function ReplicaListImpl({
  group,
  ui,
  trans,
  clock,
  batchResources,
  actions,
  onChange,
}: ReplicaListProps): JSX.Element {
  const parameters = React.useMemo(() => sweptParameters(group), [group]);
  const rows = React.useMemo(() => visibleRows(group, ui), [group, ui]);
  const counts = React.useMemo(() => {
    const result: Record<ReplicaFilter, number> = { all: 0, failed: 0, running: 0, pending: 0 };
    for (const row of group.replicas) {
      result.all += 1;
      const kind = replicaKind(row);
      if (kind === 'failed' || kind === 'running' || kind === 'pending') result[kind] += 1;
    }
    return result;
  }, [group]);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  const page = Math.min(ui.page, pages - 1);
  const shown = rows.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const change = (patch: Partial<BatchUi>) => onChange(group.key, patch);
  const values = (name: string) =>
    [
      ...new Set(group.replicas.map((row) => row.params?.[name]).filter((v): v is string => v !== undefined)),
    ].sort(collator.compare);
  const filterLabel: Record<ReplicaFilter, string> = {
    all: trans.__('All'),
    failed: trans.__('Failed'),
    running: trans.__('Running'),
    pending: trans.__('Pending'),
  };
  const columns = parameters.length > 0 ? { gridTemplateColumns: gridColumns(parameters.length) } : undefined;

  return (
    <section className="jp-CanfarReplicas" aria-label={trans.__('Replicas of %1', group.name)}>
      {group.replicas.length > 1 && (
        <div className="jp-CanfarReplicas-toolbar">
          <div className="jp-CanfarReplicas-filters" role="group" aria-label={trans.__('Show')}>
            {FILTERS.map((filter) => (
              <PanelButton
                key={filter}
                data-canfar-filter={filter}
                aria-pressed={ui.filter === filter}
                disabled={filter !== 'all' && counts[filter] === 0 && ui.filter !== filter}
                onClick={() => change({ filter, page: 0 })}
              >
                {`${filterLabel[filter]} ${counts[filter]}`}
              </PanelButton>
            ))}
          </div>
          <label className="jp-CanfarReplicas-control">
            {trans.__('Sort by')}
            <select
              className="jp-CanfarPanel-select"
              value={ui.sortBy}
              data-canfar="sort"
              onChange={(event) => change({ sortBy: event.currentTarget.value, page: 0 })}
            >
              <option value="replica">{trans.__('replica')}</option>
              <option value="status">{trans.__('status')}</option>
              <option value="duration">{trans.__('duration')}</option>
              {parameters.map((name) => (
                <option key={name} value={`param:${name}`}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <PanelButton
            aria-pressed={ui.descending}
            action="descending"
            title={trans.__('Reverse the order')}
            onClick={() => change({ descending: !ui.descending, page: 0 })}
          >
            {trans.__('Descending')}
          </PanelButton>
          {parameters.map((name) => (
            <label key={name} className="jp-CanfarReplicas-control">
              {name}
              <select
                className="jp-CanfarPanel-select"
                data-canfar-param-filter={name}
                value={ui.params[name] ?? ''}
                onChange={(event) => {
                  const value = event.currentTarget.value;
                  const params = { ...ui.params };
                  if (value) params[name] = value;
                  else delete params[name];
                  change({ params, page: 0 });
                }}
              >
                <option value="">{trans.__('any')}</option>
                {values(name).map((value) => (
                  <option key={value} value={value}>
                    {value}
                  </option>
                ))}
              </select>
            </label>
          ))}
        </div>
      )}
      {parameters.length > 0 && (
        <div className="jp-CanfarReplicas-header" style={columns} aria-hidden="true">
          <span>{trans.__('Replica')}</span>
          {parameters.map((name) => (
            <span key={name} className="jp-CanfarPanel-paramName">
              {name}
            </span>
          ))}
          <span>{trans.__('Status')}</span>
        </div>
      )}
      <ul className="jp-CanfarPanel-replicas" data-canfar="replicas">
        {shown.map((row) => (
          <ReplicaItem
            key={rowKey(row)}
            row={row}
            parameters={parameters}
            trans={trans}
            clock={clock}
            batchResources={batchResources}
            actions={actions}
          />
        ))}
      </ul>
      {rows.length === 0 && <div className="jp-CanfarPanel-note">{trans.__('No replica matches.')}</div>}
      {pages > 1 && (
        <nav className="jp-CanfarReplicas-pager" aria-label={trans.__('Pages of replicas')}>
          <PanelButton
            action="previous-page"
            disabled={page === 0}
            onClick={() => change({ page: page - 1 })}
          >
            {trans.__('Previous')}
          </PanelButton>
          <span data-canfar="page">
            {trans.__(
              '%1–%2 of %3',
              page * PAGE_SIZE + 1,
              Math.min(rows.length, (page + 1) * PAGE_SIZE),
              rows.length,
            )}
          </span>
          <PanelButton
            action="next-page"
            disabled={page >= pages - 1}
            onClick={() => change({ page: page + 1 })}
          >
            {trans.__('Next')}
          </PanelButton>
        </nav>
      )}
    </section>
  );
}

/** Name, one column per parameter, then the rest of the line. */
function gridColumns(parameters: number): string {
  return `minmax(5em, max-content) repeat(${parameters}, minmax(3em, max-content)) 1fr`;
}

export const ReplicaList = React.memo(ReplicaListImpl);

export interface ReplicaItemProps {
  row: ReplicaRow;
  parameters: readonly string[];
  trans: TranslationBundle;
  clock: Clock;
  batchResources: boolean;
  actions: ReplicaRowActions;
}

/**
 * One replica on two lines, to fit a side panel: name, parameters, status, duration, exit code and
 * actions; then its session id, start time, resources and why it failed. Re-rendered only when its row
 * changes (the model shares unchanged rows between polls).
 */
export const ReplicaItem = React.memo(function ReplicaItem({
  row,
  parameters,
  trans,
  clock,
  batchResources,
  actions,
}: ReplicaItemProps): JSX.Element {
  const kind = replicaKind(row);
  const id = row.session?.id ?? row.sessionId;
  const ref: SessionRef | undefined = id ? { id, name: row.name } : undefined;
  const duration = endedDuration(row);
  const resources = batchResources ? '' : formatResources(row.session);
  const why =
    row.message ??
    (row.failure ? [row.failure.exception, row.failure.message].filter(Boolean).join(': ') : '');
  const mainStyle =
    parameters.length > 0
      ? { gridTemplateColumns: gridColumns(parameters.length), display: 'grid' }
      : undefined;
  return (
    <li
      className={`jp-CanfarPanel-replica jp-mod-${row.status.toLowerCase()} jp-mod-kind-${kind}`}
      data-name={row.name}
      data-replica={row.index}
      title={why || undefined}
    >
      <div className="jp-CanfarPanel-replicaMain" style={mainStyle}>
        <span className="jp-CanfarPanel-replicaName">{row.name}</span>
        {parameters.map((name) => (
          <span key={name} className="jp-CanfarPanel-param" data-param={name}>
            <span className="jp-CanfarPanel-visuallyHidden">{`${name} = `}</span>
            {row.params?.[name] ?? '—'}
          </span>
        ))}
        <span className="jp-CanfarPanel-replicaState">
          <span className="jp-CanfarPanel-status" data-kind={kind}>
            <span className="jp-CanfarSwatch" aria-hidden="true" />
            {replicaLabel(trans, row)}
          </span>
          {kind === 'running' && row.start ? (
            <RunningFor start={row.start} clock={clock} trans={trans} />
          ) : (
            duration && <span className="jp-CanfarPanel-duration">{duration}</span>
          )}
          {row.exitCode !== undefined && (
            <span className="jp-CanfarPanel-exit" data-canfar="exit">
              {trans.__('exit %1', row.exitCode)}
            </span>
          )}
          {ref && <SessionButtons session={ref} trans={trans} actions={actions} canDelete={!!row.session} />}
        </span>
      </div>
      <div className="jp-CanfarPanel-replicaDetails">
        {id && <span>{id}</span>}
        {row.start && <StartTime start={row.start} clock={clock} />}
        {resources && <span>{resources}</span>}
        {row.attempt !== undefined && row.attempt > 1 && row.state !== 'requeued' && (
          <span>{trans.__('attempt %1', row.attempt)}</span>
        )}
        {why && (
          // Why it failed in the error colour; why it waits in the queue in the normal one.
          <span
            className={`jp-CanfarPanel-why${row.state === 'queued' || row.state === 'requeued' ? ' jp-mod-info' : ''}`}
          >
            {why}
          </span>
        )}
      </div>
    </li>
  );
});

/** How long a running replica has run, to the minute (the clock ticks; most ticks change no text). */
function RunningFor({ start, clock, trans }: { start: Date; clock: Clock; trans: TranslationBundle }) {
  const now = useNow(clock);
  return (
    <span className="jp-CanfarPanel-duration" data-canfar="running-for">
      {formatRunningFor(trans, Math.max(0, (now - start.getTime()) / 1000))}
    </span>
  );
}

function StartTime({ start, clock }: { start: Date; clock: Clock }) {
  // The day matters only for starts before today; read the clock once, not on every tick.
  const [now] = React.useState(() => clock.getSnapshot());
  return <span>{formatStart(start, now)}</span>;
}
