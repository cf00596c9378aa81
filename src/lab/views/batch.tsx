/**
 * One batch: its name (the toggle), a progress bar stacked by state with k/N, what it waits for (the
 * canary, the platform's queue, requeued replicas, the time left) and its actions; expanded, the
 * replica grid, the replica opened from it, the failures grouped by signature, the timeline, the
 * replica list and the combine step. Re-rendered only when its batch, its view state or the callbacks
 * change: a poll that changed another batch leaves it alone.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { batchEta, isFinished, isSettled, kindCounts, queueCounts, summarize } from '../grouping';
import type { BatchGroup, ReplicaRow } from '../tokens';
import { FailureGroups } from './failures';
import { ReplicaGrid, rowKey } from './grid';
import { formatAsked, formatEta, statusLabel } from './labels';
import { BatchProgressBar } from './progress';
import { ReplicaItem, ReplicaList } from './replicas';
import type { ReplicaRowActions } from './replicas';
import type { BatchUi, Clock } from './state';
import { useEvent, useNow } from './state';
import { ReplicaTimeline } from './timeline';
import { PanelButton } from './button';

/** What a batch's buttons do; optional ones are not offered when absent. */
export interface BatchActions extends ReplicaRowActions {
  deleteBatch(group: BatchGroup): void;
  rerun?(group: BatchGroup, onlyFailed: boolean): void;
  /** Runs the combine step again (offered once it failed with every replica completed). */
  rerunCombine?(group: BatchGroup): void;
  openScript?(group: BatchGroup): void;
  openFolder?(group: BatchGroup): void;
  /** Opens a file of the batch folder (the combine step's log), relative to the server root. */
  openFile?(path: string): void;
}

export interface BatchItemProps {
  group: BatchGroup;
  ui: BatchUi;
  trans: TranslationBundle;
  clock: Clock;
  actions: BatchActions;
  onChange: (key: string, change: Partial<BatchUi> | ((ui: BatchUi) => Partial<BatchUi>)) => void;
}

function BatchItemImpl({ group, ui, trans, clock, actions, onChange }: BatchItemProps): JSX.Element {
  const counts = React.useMemo(() => kindCounts(group), [group]);
  const expanded = ui.expanded;
  const bodyId = `jp-CanfarBatch-${group.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const open = useEvent((row: ReplicaRow) => onChange(group.key, { selected: rowKey(row) }));
  const toggleFailure = useEvent((key: string) =>
    onChange(group.key, (current) => ({
      openFailures: current.openFailures.includes(key)
        ? current.openFailures.filter((k) => k !== key)
        : [...current.openFailures, key],
    })),
  );
  const openLog = useEvent((row: ReplicaRow) => {
    const id = row.session?.id ?? row.sessionId;
    if (id) actions.openLogs({ id, name: row.name }, 'log');
  });
  const selected =
    ui.selected !== undefined ? group.replicas.find((row) => rowKey(row) === ui.selected) : undefined;
  const resources = group.manifest?.resources;

  return (
    <li className="jp-CanfarPanel-batch" data-key={group.key}>
      <div className="jp-CanfarPanel-batchRow">
        <button
          type="button"
          className="jp-CanfarPanel-disclosure jp-CanfarPanel-toggle"
          data-canfar-action="toggle"
          aria-expanded={expanded}
          aria-controls={expanded ? bodyId : undefined}
          title={expanded ? trans.__('Hide the replicas') : trans.__('Show the replicas')}
          onClick={() => onChange(group.key, { expanded: !expanded })}
        >
          <span className="jp-CanfarPanel-caret" aria-hidden="true" />
          <span className="jp-CanfarPanel-batchName">{group.name}</span>
        </button>
        <span className="jp-CanfarPanel-summary" data-canfar="summary">
          {summarize(group, (s) => statusLabel(trans, s))}
        </span>
        <BatchButtons group={group} failed={counts.failed} trans={trans} actions={actions} />
      </div>
      {/* Expanded, its counts are the legend of the grid's colours. */}
      <BatchProgressBar group={group} trans={trans} showCounts={expanded} />
      <BatchNotes group={group} trans={trans} clock={clock} running={counts.running > 0} />
      {expanded && (
        <div className="jp-CanfarPanel-batchBody" id={bodyId}>
          {resources && (
            <div className="jp-CanfarPanel-note" data-canfar="resources">
              {trans.__('Asked for each replica: %1', formatAsked(trans, resources))}
            </div>
          )}
          {group.replicas.length > 1 && (
            <ReplicaGrid group={group} trans={trans} onOpen={open} selected={ui.selected} />
          )}
          {selected && (
            <div className="jp-CanfarPanel-opened" data-canfar="opened">
              <ul className="jp-CanfarPanel-replicas">
                <ReplicaItem
                  row={selected}
                  parameters={[]}
                  trans={trans}
                  clock={clock}
                  batchResources={resources !== undefined}
                  actions={actions}
                />
              </ul>
              <PanelButton action="close-opened" onClick={() => onChange(group.key, { selected: undefined })}>
                {trans.__('Close')}
              </PanelButton>
            </div>
          )}
          <FailureGroups
            group={group}
            trans={trans}
            open={ui.openFailures}
            onToggle={toggleFailure}
            onOpenLog={openLog}
          />
          <div className="jp-CanfarPanel-section">
            <button
              type="button"
              className="jp-CanfarPanel-disclosure"
              data-canfar-action="timeline"
              aria-expanded={ui.timeline}
              onClick={() => onChange(group.key, { timeline: !ui.timeline })}
            >
              <span className="jp-CanfarPanel-caret" aria-hidden="true" />
              {trans.__('Timeline')}
            </button>
            {ui.timeline && <TimelineNow group={group} trans={trans} clock={clock} onOpen={open} />}
          </div>
          <ReplicaList
            group={group}
            ui={ui}
            trans={trans}
            clock={clock}
            batchResources={resources !== undefined}
            actions={actions}
            onChange={onChange}
          />
          <CombineStep group={group} trans={trans} actions={actions} />
        </div>
      )}
    </li>
  );
}

function BatchButtons({
  group,
  failed,
  trans,
  actions,
}: {
  group: BatchGroup;
  failed: number;
  trans: TranslationBundle;
  actions: BatchActions;
}): JSX.Element {
  const recorded = group.manifest !== undefined;
  const button = (label: string, title: string, action: string, onClick: () => void) => (
    <PanelButton
      action={action}
      title={title}
      onClick={(event) => {
        event.stopPropagation();
        onClick();
      }}
    >
      {label}
    </PanelButton>
  );
  return (
    <span className="jp-CanfarPanel-actions">
      {actions.rerun &&
        recorded &&
        button(trans.__('Re-run'), trans.__('Run this batch again'), 'rerun', () =>
          actions.rerun?.(group, false),
        )}
      {actions.rerun &&
        recorded &&
        failed > 0 &&
        (isSettled(group) || isFinished(group)) &&
        button(trans.__('Re-run failed'), trans.__('Run the failed replicas again'), 'rerun-failed', () =>
          actions.rerun?.(group, true),
        )}
      {actions.openScript &&
        recorded &&
        button(trans.__('Script'), trans.__('Open the script the replicas run'), 'open-script', () =>
          actions.openScript?.(group),
        )}
      {actions.openFolder &&
        recorded &&
        button(trans.__('Folder'), trans.__('Open the batch folder'), 'open-folder', () =>
          actions.openFolder?.(group),
        )}
      {(recorded || group.replicas.some((r) => r.session)) &&
        button(
          trans.__('Delete all'),
          recorded
            ? trans.__('Delete every session of this batch and remove it from the panel (its folder stays)')
            : trans.__('Delete every session of this batch'),
          'delete-batch',
          () => actions.deleteBatch(group),
        )}
    </span>
  );
}

/** The canary, the combine under way, the platform's queue, requeued replicas, missing outputs, and the time left. */
function BatchNotes({
  group,
  trans,
  clock,
  running,
}: {
  group: BatchGroup;
  trans: TranslationBundle;
  clock: Clock;
  running: boolean;
}): JSX.Element | null {
  const queue = queueCounts(group);
  const phase = group.manifest?.phase;
  const notes: { key: string; text: string; warn?: boolean }[] = [];
  if (phase === 'canary') {
    notes.push({
      key: 'canary',
      text: trans._n(
        'Canary: replica 1 runs alone first; the other %1 replica is launched once it completes.',
        'Canary: replica 1 runs alone first; the other %1 replicas are launched once it completes.',
        Math.max(0, group.total - 1),
      ),
    });
  } else if (phase === 'stopped') {
    notes.push({
      key: 'stopped',
      warn: true,
      text: trans.__('Stopped: the canary (replica 1) failed, so the other replicas were not launched.'),
    });
  }
  if (group.manifest?.combine?.state === 'running') {
    // Every replica completed, but the batch is not over yet: seen also while the batch is collapsed.
    notes.push({
      key: 'combining',
      text: trans.__(
        'Combining: every replica completed; the combine step runs now (its log: %1).',
        group.manifest.combine.log,
      ),
    });
  }
  if (queue.queued > 0) {
    notes.push({
      key: 'queued',
      text: trans._n(
        "%1 waiting in the platform's queue: CANFAR runs headless work behind interactive sessions, as capacity frees up.",
        "%1 waiting in the platform's queue: CANFAR runs headless work behind interactive sessions, as capacity frees up.",
        queue.queued,
      ),
    });
  }
  if (queue.requeued > 0) {
    notes.push({
      key: 'requeued',
      text: trans._n(
        '%1 requeued: the platform stopped it for interactive work; it runs again from the start.',
        '%1 requeued: the platform stopped them for interactive work; they run again from the start.',
        queue.requeued,
      ),
    });
  }
  if (queue.outputMissing > 0) {
    notes.push({
      key: 'output-missing',
      warn: true,
      text: trans._n(
        '%1 replica ended without an expected output (counted as failed).',
        '%1 replicas ended without an expected output (counted as failed).',
        queue.outputMissing,
      ),
    });
  }
  const eta =
    running || !isFinished(group) ? <BatchEtaNote group={group} trans={trans} clock={clock} /> : null;
  if (notes.length === 0 && !eta) return null;
  return (
    <div className="jp-CanfarPanel-notes">
      {notes.map((note) => (
        <div
          key={note.key}
          className={`jp-CanfarPanel-note${note.warn ? ' jp-mod-warn' : ''}`}
          data-canfar={`note-${note.key}`}
        >
          {note.text}
        </div>
      ))}
      {eta}
    </div>
  );
}

/** The time left, only when the completed replicas say enough (see src/batch `estimateRemaining`). */
function BatchEtaNote({
  group,
  trans,
  clock,
}: {
  group: BatchGroup;
  trans: TranslationBundle;
  clock: Clock;
}) {
  const now = useNow(clock);
  const text = formatEta(trans, batchEta(group, now));
  return text ? (
    <div className="jp-CanfarPanel-note" data-canfar="eta">
      {text}
    </div>
  ) : null;
}

function TimelineNow({
  group,
  trans,
  clock,
  onOpen,
}: {
  group: BatchGroup;
  trans: TranslationBundle;
  clock: Clock;
  onOpen: (row: ReplicaRow) => void;
}) {
  const now = useNow(clock);
  return <ReplicaTimeline group={group} now={now} trans={trans} onOpen={onOpen} />;
}

/** The combine step: the batch's last step, with its log. */
function CombineStep({
  group,
  trans,
  actions,
}: {
  group: BatchGroup;
  trans: TranslationBundle;
  actions: BatchActions;
}): JSX.Element | null {
  const combine = group.manifest?.combine;
  if (!combine) return null;
  const folder = group.manifest?.folder;
  const texts: Record<typeof combine.state, string> = {
    waiting: combine.session
      ? trans.__('starting again in a session of its own')
      : trans.__('waiting for every replica to complete'),
    running: trans.__('running'),
    completed: trans.__('completed'),
    failed: trans.__('failed'),
    interrupted: combine.session
      ? trans.__('interrupted: it runs again when the platform runs its session again')
      : trans.__('interrupted: it runs again with the replica that ran it'),
    skipped: trans.__('skipped: a replica failed, so there is nothing complete to combine'),
  };
  const exit = combine.exitCode !== undefined ? ` (${trans.__('exit %1', combine.exitCode)})` : '';
  // Every replica completed and the combine failed: it can run again alone (after a fix of its script).
  const canRerun =
    actions.rerunCombine &&
    combine.state === 'failed' &&
    group.replicas.length > 0 &&
    group.replicas.every((r) => r.state === 'completed');
  const why = combine.state === 'failed' || combine.state === 'waiting' ? combine.message : undefined;
  return (
    <div className={`jp-CanfarPanel-combine jp-mod-${combine.state}`} data-canfar="combine">
      <span className="jp-CanfarPanel-status" data-kind={combineKind(combine.state)}>
        <span className="jp-CanfarSwatch" aria-hidden="true" />
        {trans.__('Combine (last step): %1', texts[combine.state] + exit)}
      </span>
      {why && (
        <span className="jp-CanfarPanel-why" data-canfar="combine-why">
          {why}
        </span>
      )}
      {actions.openFile && folder && combine.state !== 'waiting' && combine.state !== 'skipped' && (
        <PanelButton
          action="combine-log"
          title={trans.__('Open the log of the combine step (%1)', combine.log)}
          onClick={() => actions.openFile?.(`${folder}/${combine.log}`)}
        >
          {trans.__('Log')}
        </PanelButton>
      )}
      {canRerun && (
        <PanelButton
          action="rerun-combine"
          title={trans.__('Run the combine step again, alone (fix its script in the batch folder first)')}
          onClick={() => actions.rerunCombine?.(group)}
        >
          {trans.__('Re-run combine')}
        </PanelButton>
      )}
    </div>
  );
}

function combineKind(state: string): string {
  switch (state) {
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
    case 'running':
      return 'running';
    case 'waiting':
    case 'interrupted':
      return 'pending';
    default:
      return 'other';
  }
}

export const BatchItem = React.memo(BatchItemImpl);
