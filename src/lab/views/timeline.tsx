/**
 * The replicas in time: one bar per replica from its start to its end (to now while it runs), coloured
 * by outcome and ordered by start, so that stragglers stand out as the bars that go on. Drawn on a
 * canvas: redrawing it as time passes touches no DOM node. The picture is described in words for
 * screen readers; the replica list and the grid are its accessible equivalent.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { timelineLayout } from '../../batch';
import type { TimelineLayout } from '../../batch';
import { formatDuration, replicaKind } from '../grouping';
import type { ReplicaKind } from '../grouping';
import type { BatchGroup, ReplicaRow } from '../tokens';
import { defaultTrans, replicaSummary } from './labels';
import { useThemeVersion } from './state';

export interface ReplicaTimelineProps {
  group: BatchGroup;
  /** Epoch milliseconds: the right edge while replicas run. */
  now: number;
  trans?: TranslationBundle;
  onOpen?: (row: ReplicaRow) => void;
}

/** The theme variable each kind is drawn with (the same colours as the grid and the progress bar). */
const KIND_COLOUR: Record<ReplicaKind, string> = {
  completed: '--jp-canfar-completed',
  failed: '--jp-canfar-failed',
  running: '--jp-canfar-running',
  pending: '--jp-canfar-pending',
  other: '--jp-canfar-other',
};

/** Height of one replica's row in CSS pixels: thin rows for large batches, at most 200 px in all until 200. */
export function rowHeight(count: number): number {
  return Math.max(1, Math.min(6, Math.floor(200 / Math.max(1, count))));
}

function ReplicaTimelineImpl({ group, now, trans, onOpen }: ReplicaTimelineProps): JSX.Element {
  const t = trans ?? defaultTrans();
  const themeVersion = useThemeVersion();
  const canvas = React.useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = React.useState(0);
  const rows = group.replicas;
  const layout = React.useMemo(
    () =>
      timelineLayout(
        rows.map((row, i) => ({
          replica: i,
          start: row.start?.getTime(),
          end: row.end?.getTime(),
          open: replicaKind(row) === 'running',
          kind: replicaKind(row),
        })),
        now,
      ),
    [rows, now],
  );
  const step = rowHeight(layout.bars.length);
  const height = Math.max(step, layout.bars.length * step);

  React.useLayoutEffect(() => {
    const node = canvas.current?.parentElement;
    if (!node) return;
    const measure = () => setWidth(node.clientWidth);
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, []);

  React.useEffect(() => {
    const node = canvas.current;
    if (!node || width === 0) return;
    draw(node, layout, width, height, step);
  }, [layout, width, height, step, themeVersion]);

  const rowAt = (event: React.MouseEvent<HTMLCanvasElement>): ReplicaRow | undefined => {
    const box = event.currentTarget.getBoundingClientRect();
    const bar = layout.bars[Math.floor((event.clientY - box.top) / step)];
    return bar ? rows[bar.replica] : undefined;
  };

  const end = layout.origin + layout.span;
  const description =
    layout.bars.length === 0
      ? t.__('Timeline: no replica has started yet.')
      : t.__(
          'Timeline of %1 replicas that started, from %2 to %3 (%4)%5',
          layout.bars.length,
          new Date(layout.origin).toLocaleTimeString(),
          new Date(end).toLocaleTimeString(),
          formatDuration(layout.span),
          layout.waiting > 0 ? t.__('; %1 not started', layout.waiting) : '',
        );
  return (
    <figure className="jp-CanfarTimeline" data-canfar="timeline">
      <div className="jp-CanfarTimeline-plot">
        <canvas
          ref={canvas}
          role="img"
          aria-label={description}
          width={Math.round(width * pixelRatio())}
          height={Math.round(height * pixelRatio())}
          style={{ width: `${width}px`, height: `${height}px` }}
          onMouseMove={(event) => {
            const row = rowAt(event);
            event.currentTarget.title = row ? replicaSummary(t, row) : '';
          }}
          onClick={(event) => {
            const row = rowAt(event);
            if (row) onOpen?.(row);
          }}
        />
      </div>
      <figcaption className="jp-CanfarTimeline-axis">
        <span>{layout.bars.length > 0 ? new Date(layout.origin).toLocaleTimeString() : ''}</span>
        <span>{layout.bars.length > 0 ? `+${formatDuration(layout.span)}` : description}</span>
      </figcaption>
    </figure>
  );
}

function pixelRatio(): number {
  return typeof window !== 'undefined' && window.devicePixelRatio ? window.devicePixelRatio : 1;
}

function draw(
  canvas: HTMLCanvasElement,
  layout: TimelineLayout,
  width: number,
  height: number,
  step: number,
) {
  const context = canvas.getContext?.('2d');
  if (!context) return;
  const ratio = pixelRatio();
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);
  const style = getComputedStyle(canvas);
  const colours = new Map<string, string>();
  const colour = (kind: string) => {
    let value = colours.get(kind);
    if (value === undefined) {
      value = style.getPropertyValue(KIND_COLOUR[kind as ReplicaKind] ?? KIND_COLOUR.other).trim() || 'gray';
      colours.set(kind, value);
    }
    return value;
  };
  const scale = width / Math.max(1, layout.span);
  const gap = step >= 3 ? 1 : 0;
  layout.bars.forEach((bar, i) => {
    context.fillStyle = colour(bar.kind);
    const x = bar.from * scale;
    context.fillRect(x, i * step, Math.max(1, (bar.to - bar.from) * scale), step - gap);
  });
}

export const ReplicaTimeline = React.memo(ReplicaTimelineImpl);
