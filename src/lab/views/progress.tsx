/**
 * A batch's progress as one bar stacked by kind (completed, failed, running, pending, other), with the
 * counts as its legend. Reusable outside the panel (notebook outputs): it needs a `BatchGroup` and
 * nothing of the shell; its colours are the theme's (style/base.css).
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { KIND_ORDER, kindCounts } from '../grouping';
import type { KindCounts } from '../grouping';
import type { BatchGroup } from '../tokens';
import { defaultTrans, kindLabel, kindSummary } from './labels';

export interface BatchProgressBarProps {
  /** The batch (`groupSessions` output, or `batchGroupOf(summary)` for a summary alone). */
  group: BatchGroup;
  trans?: TranslationBundle;
  /** Show the counts under the bar as its legend (default true). */
  showCounts?: boolean;
}

function BatchProgressBarImpl({ group, trans, showCounts = true }: BatchProgressBarProps): JSX.Element {
  const t = trans ?? defaultTrans();
  const counts = kindCounts(group);
  const total = Math.max(group.total, group.replicas.length, 1);
  const summary = kindSummary(t, counts, group.total);
  return (
    <div className="jp-CanfarProgress" data-canfar="progress">
      <div className="jp-CanfarProgress-bar" role="img" aria-label={summary} title={summary}>
        {KIND_ORDER.map((kind) =>
          counts[kind] > 0 ? (
            <span
              key={kind}
              className={`jp-CanfarProgress-segment jp-mod-${kind}`}
              data-kind={kind}
              data-count={counts[kind]}
              style={{ width: `${(100 * counts[kind]) / total}%` }}
            />
          ) : null,
        )}
      </div>
      {showCounts && <ProgressLegend counts={counts} total={group.total} trans={t} />}
    </div>
  );
}

function ProgressLegend({
  counts,
  total,
  trans,
}: {
  counts: KindCounts;
  total: number;
  trans: TranslationBundle;
}): JSX.Element {
  return (
    <ul className="jp-CanfarProgress-legend">
      {KIND_ORDER.filter((kind) => counts[kind] > 0).map((kind) => (
        <li key={kind} className={`jp-CanfarProgress-count jp-mod-${kind}`} data-kind={kind}>
          <span className="jp-CanfarSwatch" aria-hidden="true" />
          {`${counts[kind]}/${total} ${kindLabel(trans, kind)}`}
        </li>
      ))}
    </ul>
  );
}

/** Re-renders only when the batch object changes (the model shares unchanged batches between polls). */
export const BatchProgressBar = React.memo(BatchProgressBarImpl);
