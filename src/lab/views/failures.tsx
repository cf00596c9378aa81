/**
 * Why replicas failed, one line per signature ("17 replicas failed in cell 4 with FileNotFoundError"),
 * each expandable to its replicas with their logs. Reusable outside the panel: a `BatchGroup`, the
 * groups open, and callbacks.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { FailureGroup } from '../../batch';
import { batchFailures } from '../grouping';
import type { BatchGroup, ReplicaRow } from '../tokens';
import { defaultTrans, failureTitle } from './labels';
import { PanelButton } from './button';

/** Replicas listed under an open failure group; the replica list (filter "failed") shows them all. */
const MAX_LISTED = 50;

export interface FailureGroupsProps {
  group: BatchGroup;
  trans?: TranslationBundle;
  /** Keys (`FailureGroup.key`) of the groups shown with their replicas. */
  open: readonly string[];
  onToggle: (key: string) => void;
  /** Opens the log of a failed replica; without it no Log button is shown. */
  onOpenLog?: (row: ReplicaRow) => void;
}

function FailureGroupsImpl({
  group,
  trans,
  open,
  onToggle,
  onOpenLog,
}: FailureGroupsProps): JSX.Element | null {
  const t = trans ?? defaultTrans();
  const groups = React.useMemo(() => batchFailures(group), [group]);
  if (groups.length === 0) return null;
  const byIndex = new Map(group.replicas.map((row, i) => [row.index ?? i + 1, row]));
  return (
    <section
      className="jp-CanfarFailures"
      data-canfar="failures"
      aria-label={t.__('Failures of %1', group.name)}
    >
      <h4 className="jp-CanfarPanel-subTitle">{t.__('Failures')}</h4>
      <ul className="jp-CanfarFailures-groups">
        {groups.map((failure) => (
          <FailureItem
            key={failure.key}
            failure={failure}
            expanded={open.includes(failure.key)}
            rows={byIndex}
            trans={t}
            onToggle={onToggle}
            onOpenLog={onOpenLog}
          />
        ))}
      </ul>
    </section>
  );
}

function FailureItem({
  failure,
  expanded,
  rows,
  trans,
  onToggle,
  onOpenLog,
}: {
  failure: FailureGroup;
  expanded: boolean;
  rows: Map<number, ReplicaRow>;
  trans: TranslationBundle;
  onToggle: (key: string) => void;
  onOpenLog?: (row: ReplicaRow) => void;
}): JSX.Element {
  const listId = `jp-CanfarFailures-${failure.key.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const shown = failure.replicas.slice(0, MAX_LISTED);
  return (
    <li className="jp-CanfarFailures-group" data-signature={failure.key}>
      <button
        type="button"
        className="jp-CanfarPanel-disclosure"
        aria-expanded={expanded}
        aria-controls={expanded ? listId : undefined}
        onClick={() => onToggle(failure.key)}
      >
        <span className="jp-CanfarPanel-caret" aria-hidden="true" />
        <span data-canfar="failure-title">{failureTitle(trans, failure)}</span>
      </button>
      {failure.message && <div className="jp-CanfarFailures-message">{failure.message}</div>}
      {expanded && (
        <ul id={listId} className="jp-CanfarFailures-replicas">
          {shown.map((item) => {
            const row = rows.get(item.replica);
            return (
              <li key={item.replica} data-name={item.name}>
                <span className="jp-CanfarPanel-replicaName">{item.name}</span>
                {row?.exitCode !== undefined && (
                  <span className="jp-CanfarPanel-exit">{trans.__('exit %1', row.exitCode)}</span>
                )}
                {item.message && item.message !== failure.message && (
                  <span className="jp-CanfarFailures-message">{item.message}</span>
                )}
                {onOpenLog && row && (row.session?.id ?? row.sessionId) && (
                  <PanelButton
                    action="logs"
                    title={trans.__('Show the log of %1', item.name)}
                    onClick={() => onOpenLog(row)}
                  >
                    {trans.__('Logs')}
                  </PanelButton>
                )}
              </li>
            );
          })}
          {failure.replicas.length > shown.length && (
            <li className="jp-CanfarPanel-note">
              {trans.__(
                'and %1 more: show "Failed" in the replica list for all of them',
                failure.replicas.length - shown.length,
              )}
            </li>
          )}
        </ul>
      )}
    </li>
  );
}

export const FailureGroups = React.memo(FailureGroupsImpl);
