/**
 * What the views read besides the model: a clock for the few things that depend on the time (how long
 * a replica has been running, the time left, the timeline's right edge), and the panel's own view
 * state (expanded batches, filters, pages, the replica opened). Both are small external stores for
 * React's `useSyncExternalStore`; the view state lives outside React so that it survives re-mounts.
 */
import * as React from 'react';

type Listener = () => void;

/**
 * Ticks every `period` milliseconds while someone listens. Readers show times to the minute, so most
 * ticks change no text; the timeline redraws its canvas (no DOM node) at each tick.
 */
export class Clock {
  constructor(
    private readonly _now: () => number = Date.now,
    private readonly _period = 30_000,
  ) {
    this._value = this._now();
  }

  readonly subscribe = (listener: Listener): (() => void) => {
    this._listeners.add(listener);
    if (this._timer === undefined && !this._disposed) {
      this._value = this._now();
      this._timer = setInterval(() => this.tick(), this._period);
    }
    return () => {
      this._listeners.delete(listener);
      if (this._listeners.size === 0) this._stop();
    };
  };

  readonly getSnapshot = (): number => this._value;

  /** Moves the time on now (tests; a poll never does). */
  tick(): void {
    this._value = this._now();
    for (const listener of [...this._listeners]) listener();
  }

  dispose(): void {
    this._disposed = true;
    this._stop();
    this._listeners.clear();
  }

  private _stop(): void {
    if (this._timer !== undefined) clearInterval(this._timer);
    this._timer = undefined;
  }

  private _value: number;
  private _timer?: ReturnType<typeof setInterval>;
  private _listeners = new Set<Listener>();
  private _disposed = false;
}

export type ReplicaFilter = 'all' | 'failed' | 'running' | 'pending';

/** The view state of one batch; a batch not in the store has `DEFAULT_BATCH_UI`. */
export interface BatchUi {
  expanded: boolean;
  filter: ReplicaFilter;
  /** 0-based page of the replica list. */
  page: number;
  /** `replica`, `status`, `duration` or `param:<name>`. */
  sortBy: string;
  descending: boolean;
  /** Swept parameter -> value shown (absent: any). */
  params: Record<string, string>;
  /** The replica opened from the grid or the timeline (its row key). */
  selected?: string;
  timeline: boolean;
  /** Failure groups shown with their replicas (by signature). */
  openFailures: string[];
}

export const DEFAULT_BATCH_UI: BatchUi = Object.freeze({
  expanded: false,
  filter: 'all',
  page: 0,
  sortBy: 'replica',
  descending: false,
  params: {},
  timeline: false,
  openFailures: [],
}) as BatchUi;

/** Per-batch view state, replaced immutably: an unchanged batch keeps the same object (memo). */
export class PanelUiStore {
  readonly subscribe = (listener: Listener): (() => void) => {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  };

  readonly getSnapshot = (): Readonly<Record<string, BatchUi>> => this._state;

  get(key: string): BatchUi {
    return this._state[key] ?? DEFAULT_BATCH_UI;
  }

  update(key: string, change: Partial<BatchUi> | ((current: BatchUi) => Partial<BatchUi>)): void {
    const current = this.get(key);
    const patch = typeof change === 'function' ? change(current) : change;
    const next = { ...current, ...patch };
    if (Object.keys(next).every((k) => next[k as keyof BatchUi] === current[k as keyof BatchUi])) return;
    this._state = { ...this._state, [key]: next };
    for (const listener of [...this._listeners]) listener();
  }

  private _state: Readonly<Record<string, BatchUi>> = {};
  private _listeners = new Set<Listener>();
}

export function useNow(clock: Clock): number {
  return React.useSyncExternalStore(clock.subscribe, clock.getSnapshot);
}

/** A stable function that always calls the latest `callback` (so that memoised children keep their props). */
export function useEvent<A extends unknown[], R>(callback: (...args: A) => R): (...args: A) => R {
  const ref = React.useRef(callback);
  ref.current = callback;
  return React.useCallback((...args: A) => ref.current(...args), []);
}

/** Re-renders when JupyterLab switches theme (canvas colours come from the theme's variables). */
export function useThemeVersion(): number {
  return React.useSyncExternalStore(theme.subscribe, theme.getSnapshot);
}

const theme = (() => {
  let version = 0;
  let observer: MutationObserver | undefined;
  const listeners = new Set<Listener>();
  return {
    subscribe(listener: Listener) {
      listeners.add(listener);
      if (!observer && typeof MutationObserver !== 'undefined' && typeof document !== 'undefined') {
        const bump = () => {
          version += 1;
          for (const l of [...listeners]) l();
        };
        // Once when the attributes change, and again when the theme's stylesheet has surely applied.
        observer = new MutationObserver(() => {
          bump();
          setTimeout(bump, 300);
        });
        observer.observe(document.body, {
          attributes: true,
          attributeFilter: ['data-jp-theme-name', 'data-jp-theme-light'],
        });
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          observer?.disconnect();
          observer = undefined;
        }
      };
    },
    getSnapshot: () => version,
  };
})();
