/**
 * Splitting work between replicas: `chunk` and `stripe` give, for every (items, replica, total), exactly what
 * the official Python helpers (canfar.helpers.distributed) give, so a pipeline that mixes Python and JS
 * replicas splits its data the same way. `balanced` is our own, better balanced, contiguous split.
 */
import { readReplicaVariable } from './env';

/** Raised for a replica/total pair the helpers refuse; the message is the official helpers' own text. */
export class ReplicaRangeError extends RangeError {
  override readonly name = 'ReplicaRangeError';
  constructor(
    message: string,
    readonly replica: number,
    readonly total: number,
  ) {
    super(message);
  }
}

/** The texts of the official helpers' ValueErrors, in the order they are checked. */
export const RANGE_MESSAGES = {
  totalNotPositive: 'total must be positive',
  replicaBelowOne: 'replica must be >= 1 (1-based indexing expected)',
  replicaAboveTotal: 'replica cannot exceed total',
} as const;

type Maybe = number | null | undefined;

function checkInteger(label: 'replica' | 'total', value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(
      `${label} must be an integer, got ${typeof value === 'number' ? value : typeof value}`,
    );
  }
  return value;
}

/** replica and total as given, else from REPLICA_ID then REPLICA_COUNT (read in that order, as in Python). */
function resolve(replica: Maybe, total: Maybe): [number, number] {
  const r = replica == null ? readReplicaVariable('REPLICA_ID') : checkInteger('replica', replica);
  const t = total == null ? readReplicaVariable('REPLICA_COUNT') : checkInteger('total', total);
  return [r, t];
}

/** The official `chunk` checks, in its order. `balanced` shares them. */
function checkRange(replica: number, total: number): void {
  if (total <= 0) throw new ReplicaRangeError(RANGE_MESSAGES.totalNotPositive, replica, total);
  if (replica < 1) throw new ReplicaRangeError(RANGE_MESSAGES.replicaBelowOne, replica, total);
  if (replica > total) throw new ReplicaRangeError(RANGE_MESSAGES.replicaAboveTotal, replica, total);
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value != null && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value != null && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

function notIterable(fn: string, value: unknown): TypeError {
  const what = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return new TypeError(
    `${fn}() expects an iterable or an async iterable (array, string, Set, generator...), got ${what}`,
  );
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

// ---------------------------------------------------------------------------------------------------------
// stripe

function* stripeSync<T>(items: Iterable<T>, start: number, step: number): Generator<T, void, undefined> {
  if (Array.isArray(items)) {
    // Read the array at iteration time, like Python's islice over a list.
    for (let i = start; i < items.length; i += step) yield items[i] as T;
    return;
  }
  let index = 0;
  let next = start;
  for (const item of items) {
    if (index === next) {
      yield item;
      next += step;
    }
    index += 1;
  }
}

async function* stripeAsync<T>(
  items: AsyncIterable<T>,
  start: number,
  step: number,
): AsyncGenerator<T, void, undefined> {
  let index = 0;
  let next = start;
  for await (const item of items) {
    if (index === next) {
      yield item;
      next += step;
    }
    index += 1;
  }
}

/**
 * The items at 0-based positions `replica-1`, `replica-1+total`, `replica-1+2*total`, ... of `items`, lazily
 * (endless iterables work: only what is consumed is read). replica and total default to REPLICA_ID and
 * REPLICA_COUNT, read when `stripe` is called.
 *
 * As the official helper: `replica < 1` or `replica > total` gives nothing (no error); `total <= 0` is an
 * error when `replica >= 1` (Python raises islice's ValueError there; ours says "total must be positive").
 * Unlike Python's generator, the error is thrown by the call itself rather than by the first `next()`.
 */
export function stripe<T>(
  items: Iterable<T>,
  replica?: number | null,
  total?: number | null,
): IterableIterator<T>;
export function stripe<T>(
  items: AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): AsyncIterableIterator<T>;
export function stripe<T>(
  items: Iterable<T> | AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): IterableIterator<T> | AsyncIterableIterator<T> {
  const sync = isIterable(items);
  if (!sync && !isAsyncIterable(items)) throw notIterable('stripe', items);
  const [r, t] = resolve(replica, total);
  let empty = r < 1;
  if (!empty && t <= 0) throw new ReplicaRangeError(RANGE_MESSAGES.totalNotPositive, r, t);
  empty ||= r > t;
  if (sync) return empty ? stripeSync<T>([], 0, 1) : stripeSync(items as Iterable<T>, r - 1, t);
  return stripeAsync(empty ? emptyAsync<T>() : (items as AsyncIterable<T>), empty ? 0 : r - 1, empty ? 1 : t);
}

async function* emptyAsync<T>(): AsyncGenerator<T, void, undefined> {}

// ---------------------------------------------------------------------------------------------------------
// chunk and balanced

/** The official helper's split of `count` items: [start, end) of this replica (already range-checked). */
function chunkBounds(count: number, replica: number, total: number): [number, number] {
  const z = replica - 1;
  if (count < total) return z < count ? [z, z + 1] : [0, 0];
  const size = Math.floor(count / total);
  return [z * size, z < total - 1 ? (z + 1) * size : count];
}

/** Contiguous blocks whose sizes differ by at most one: the first `count % total` replicas get one more. */
function balancedBounds(count: number, replica: number, total: number): [number, number] {
  const z = replica - 1;
  const size = Math.floor(count / total);
  const extra = count % total;
  const start = z * size + Math.min(z, extra);
  return [start, start + size + (z < extra ? 1 : 0)];
}

type Bounds = (count: number, replica: number, total: number) => [number, number];

function split<T>(
  fn: string,
  bounds: Bounds,
  items: Iterable<T> | AsyncIterable<T>,
  replica: Maybe,
  total: Maybe,
): T[] | Promise<T[]> {
  if (isIterable(items)) {
    const [r, t] = resolve(replica, total);
    checkRange(r, t);
    const all = Array.isArray(items) ? (items as T[]) : Array.from(items);
    const [start, end] = bounds(all.length, r, t);
    return all.slice(start, end);
  }
  if (isAsyncIterable(items)) {
    return (async () => {
      const [r, t] = resolve(replica, total);
      checkRange(r, t);
      const all = await collect(items);
      const [start, end] = bounds(all.length, r, t);
      return all.slice(start, end);
    })();
  }
  throw notIterable(fn, items);
}

/**
 * This replica's contiguous share of `items`, exactly as the official `chunk`: with `count` items and
 * `count >= total`, `size = floor(count/total)`, replica r < total gets `[(r-1)*size, r*size)` and the LAST
 * replica gets everything from `(total-1)*size` to the end; with `count < total`, replica r gets the single
 * item `r-1` when there is one. Errors, in this order: total <= 0, replica < 1, replica > total.
 * The input is materialized (finite iterables only); async iterables give a Promise.
 * The last replica may get up to `total-1` extra items: see `balanced` for an even split.
 */
export function chunk<T>(items: Iterable<T>, replica?: number | null, total?: number | null): T[];
export function chunk<T>(
  items: AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): Promise<T[]>;
export function chunk<T>(
  items: Iterable<T> | AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): T[] | Promise<T[]> {
  return split('chunk', chunkBounds, items, replica, total);
}

/**
 * This replica's contiguous share of `items`, with block sizes that differ by at most one (the first
 * `count % total` replicas get one item more). Same arguments, defaults and errors as `chunk`; equal to
 * `chunk` when `count < total` or when `total` divides `count`.
 */
export function balanced<T>(items: Iterable<T>, replica?: number | null, total?: number | null): T[];
export function balanced<T>(
  items: AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): Promise<T[]>;
export function balanced<T>(
  items: Iterable<T> | AsyncIterable<T>,
  replica?: number | null,
  total?: number | null,
): T[] | Promise<T[]> {
  return split('balanced', balancedBounds, items, replica, total);
}
