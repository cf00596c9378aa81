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

function share(prev: unknown, next: unknown, seen: Map<unknown, unknown>): unknown {
  if (prev === next) return next;
  if (next instanceof Date) {
    return prev instanceof Date && prev.getTime() === next.getTime() ? prev : next;
  }
  if (Array.isArray(next)) {
    if (!Array.isArray(prev)) return next;
    const byId = new Map<string, unknown>();
    for (const item of prev) {
      const id = identity(item);
      if (id !== undefined) byId.set(id, item);
    }
    let same = prev.length === next.length;
    const result = next.map((item, i) => {
      const id = identity(item);
      const counterpart = id !== undefined ? byId.get(id) : prev[i];
      const shared = share(counterpart, item, seen);
      if (shared !== prev[i]) same = false;
      return shared;
    });
    return same ? prev : result;
  }
  if (isPlain(next)) {
    if (!isPlain(prev)) return next;
    // One object may sit in two places (a session in the list and in its replica's row): share it once.
    if (seen.has(next)) return seen.get(next);
    const keys = Object.keys(next);
    let same = keys.length === Object.keys(prev).length;
    const result: Plain = {};
    for (const key of keys) {
      const shared = share(prev[key], next[key], seen);
      result[key] = shared;
      if (shared !== prev[key] || !(key in prev)) same = false;
    }
    const outcome = same ? prev : result;
    seen.set(next, outcome);
    return outcome;
  }
  // Primitives equal by value are already ===; NaN stays NaN.
  return Number.isNaN(prev) && Number.isNaN(next) ? prev : next;
}
