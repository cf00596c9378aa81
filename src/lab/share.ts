/**
 * Structural sharing: a new value is given the old value's objects wherever they are equal by value, so
 * that "nothing changed" is `old === new` and views memoised on their props skip what did not change.
 * Arrays of identified items (`key`, `id`, or `index` + `name`) are matched by identity, not position:
 * a batch added on top leaves every other batch shared.
 */

type Plain = Record<string, unknown>;

function isPlain(value: unknown): value is Plain {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function identity(item: unknown): string | undefined {
  if (!isPlain(item)) return undefined;
  if (typeof item.key === 'string') return `k:${item.key}`;
  if (typeof item.id === 'string') return `i:${item.id}`;
  if (typeof item.name === 'string') return `n:${String(item.index)}:${item.name}`;
  return undefined;
}

/** `prev` where `next` equals it by value; else `next`, with every part equal to `prev`'s replaced by it. */
export function shareEqual<T>(prev: unknown, next: T): T {
  return share(prev, next, new Map()) as T;
}

/** Deep equality of plain data (objects, arrays, dates, primitives), without allocating. */
export function equalByValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equalByValue(a[i], b[i])) return false;
    return true;
  }
  if (isPlain(a)) {
    if (!isPlain(b)) return false;
    let keys = 0;
    for (const key in a) {
      keys++;
      if (!(key in b) || !equalByValue(a[key], b[key])) return false;
    }
    for (const _ in b) keys--;
    return keys === 0;
  }
  return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
}

function share(prev: unknown, next: unknown, seen: Map<unknown, unknown>): unknown {
  // The common case, a poll that found nothing new: one comparison, nothing allocated.
  if (equalByValue(prev, next)) return prev;
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    let byId: Map<string, unknown> | undefined;
    return next.map((item, i) => {
      let counterpart: unknown = prev[i];
      const id = identity(item);
      if (id !== undefined && identity(counterpart) !== id) {
        if (!byId) {
          byId = new Map();
          for (const old of prev) {
            const oldId = identity(old);
            if (oldId !== undefined) byId.set(oldId, old);
          }
        }
        counterpart = byId.get(id);
      }
      return share(counterpart, item, seen);
    });
  }
  if (isPlain(next)) {
    if (!isPlain(prev)) return next;
    // One object may sit in two places (a session in the list and in its replica's row): share it once.
    if (seen.has(next)) return seen.get(next);
    const result: Plain = {};
    for (const key of Object.keys(next)) result[key] = share(prev[key], next[key], seen);
    seen.set(next, result);
    return result;
  }
  return next;
}
