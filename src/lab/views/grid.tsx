/**
 * A compact picture of a large batch: one small cell per replica, coloured by what it is, with a
 * tooltip (name, status, duration, exit code). Clicking a cell, or Enter on it, opens the replica.
 *
 * Keyboard: the grid is one tab stop (a listbox whose active cell is `aria-activedescendant`, so focus
 * never moves between 500 nodes); arrows move by one cell or one row, Home/End to the ends, Page Up/Down
 * by five rows. Reusable outside the panel (notebook outputs): a `BatchGroup` and a callback.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { replicaKind } from '../grouping';
import type { BatchGroup, ReplicaRow } from '../tokens';
import { defaultTrans, gridLabel, replicaSummary } from './labels';
import { useEvent } from './state';

export interface ReplicaGridProps {
  group: BatchGroup;
  trans?: TranslationBundle;
  /** Called with the replica the user opens (click, Enter or Space). */
  onOpen?: (row: ReplicaRow) => void;
  /** The key (`rowKey`) of the replica shown as opened. */
  selected?: string;
  /** The grid's accessible name (default "Replicas of <batch> (<N>)"). */
  label?: string;
}

/** A replica's key within its batch: its index, else its name. */
export function rowKey(row: ReplicaRow): string {
  return row.index !== undefined ? String(row.index) : row.name;
}

let gridCounter = 0;

function ReplicaGridImpl({ group, trans, onOpen, selected, label }: ReplicaGridProps): JSX.Element {
  const t = trans ?? defaultTrans();
  const rows = group.replicas;
  const [idBase] = React.useState(() => `jp-CanfarGrid-${++gridCounter}`);
  const [active, setActive] = React.useState(0);
  const node = React.useRef<HTMLDivElement>(null);
  const current = Math.min(active, Math.max(0, rows.length - 1));

  const open = useEvent((position: number) => {
    const row = rows[position];
    if (!row) return;
    setActive(position);
    onOpen?.(row);
  });

  const move = (position: number) => {
    const next = Math.max(0, Math.min(rows.length - 1, position));
    setActive(next);
    node.current?.querySelector(`#${idBase}-${next}`)?.scrollIntoView?.({ block: 'nearest' });
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    const columns = columnsOf(node.current);
    const moves: Record<string, number> = {
      ArrowRight: current + 1,
      ArrowLeft: current - 1,
      ArrowDown: current + columns,
      ArrowUp: current - columns,
      Home: 0,
      End: rows.length - 1,
      PageDown: current + columns * 5,
      PageUp: current - columns * 5,
    };
    if (event.key in moves) {
      event.preventDefault();
      move(moves[event.key]);
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      open(current);
    }
  };

  return (
    <div
      ref={node}
      className="jp-CanfarGrid"
      data-canfar="grid"
      role="listbox"
      tabIndex={0}
      aria-label={label ?? gridLabel(t, group)}
      aria-activedescendant={rows.length > 0 ? `${idBase}-${current}` : undefined}
      onKeyDown={onKeyDown}
    >
      {rows.map((row, position) => (
        <GridCell
          key={rowKey(row)}
          id={`${idBase}-${position}`}
          row={row}
          position={position}
          active={position === current}
          selected={selected === rowKey(row)}
          trans={t}
          onOpen={open}
        />
      ))}
    </div>
  );
}

/** How many cells one row of the grid holds (the cells wrap with the panel's width). */
function columnsOf(grid: HTMLElement | null): number {
  const cells = grid?.children;
  if (!cells || cells.length === 0) return 1;
  const top = (cells[0] as HTMLElement).offsetTop;
  let columns = 1;
  while (columns < cells.length && (cells[columns] as HTMLElement).offsetTop === top) columns++;
  return columns;
}

interface GridCellProps {
  id: string;
  row: ReplicaRow;
  position: number;
  active: boolean;
  selected: boolean;
  trans: TranslationBundle;
  onOpen: (position: number) => void;
}

const GridCell = React.memo(function GridCell({
  id,
  row,
  position,
  active,
  selected,
  trans,
  onOpen,
}: GridCellProps): JSX.Element {
  const summary = replicaSummary(trans, row);
  const classes = ['jp-CanfarGrid-cell', `jp-mod-${replicaKind(row)}`];
  if (active) classes.push('jp-mod-active');
  if (selected) classes.push('jp-mod-selected');
  return (
    <div
      id={id}
      className={classes.join(' ')}
      role="option"
      aria-selected={selected}
      aria-label={summary}
      title={summary}
      data-replica={row.index}
      onClick={() => onOpen(position)}
    />
  );
});

/** Re-renders only when the batch, the selection or the callback changes. */
export const ReplicaGrid = React.memo(ReplicaGridImpl);
