import {
  balanced,
  chunk,
  RANGE_MESSAGES,
  replicaCount,
  replicaId,
  ReplicaEnvironmentError,
  ReplicaRangeError,
  stripe,
} from './index';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function withEnv(env: Record<string, string | undefined>, body: () => void): void {
  const saved: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(env)) {
    saved[key] = process.env[key];
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  try {
    body();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

describe('the examples of the contract', () => {
  test('10 items over 3 replicas', () => {
    expect([1, 2, 3].map((r) => chunk(range(10), r, 3))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
      [6, 7, 8, 9],
    ]);
    expect([1, 2, 3].map((r) => [...stripe(range(10), r, 3)])).toEqual([
      [0, 3, 6, 9],
      [1, 4, 7],
      [2, 5, 8],
    ]);
  });

  test('3 items over 5 replicas', () => {
    const expected = [[0], [1], [2], [], []];
    expect([1, 2, 3, 4, 5].map((r) => chunk(range(3), r, 5))).toEqual(expected);
    expect([1, 2, 3, 4, 5].map((r) => [...stripe(range(3), r, 5)])).toEqual(expected);
  });

  test('19 items over 10 replicas: chunk puts the remainder on the last, balanced spreads it', () => {
    const sizes = (fn: typeof chunk) => range(10).map((z) => fn(range(19), z + 1, 10).length);
    expect(sizes(chunk)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 10]);
    expect(sizes(balanced)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
  });
});

describe('errors', () => {
  test('chunk and balanced check total, then replica >= 1, then replica <= total, before reading items', () => {
    const untouchable = {
      [Symbol.iterator]: () => {
        throw new Error('items were read before the arguments were checked');
      },
    };
    for (const fn of [chunk, balanced]) {
      expect(() => fn(untouchable, 0, 0)).toThrow(RANGE_MESSAGES.totalNotPositive);
      expect(() => fn(untouchable, 0, 3)).toThrow(RANGE_MESSAGES.replicaBelowOne);
      expect(() => fn(untouchable, 4, 3)).toThrow(RANGE_MESSAGES.replicaAboveTotal);
    }
    let caught: unknown;
    try {
      chunk([1], 4, 3);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ReplicaRangeError);
    expect(caught).toMatchObject({ replica: 4, total: 3, message: 'replica cannot exceed total' });
  });

  test('stripe: nothing outside 1..total, an error only for total <= 0 with replica >= 1', () => {
    expect([...stripe(range(5), 0, 0)]).toEqual([]);
    expect([...stripe(range(5), 4, 3)]).toEqual([]);
    expect(() => stripe(range(5), 1, 0)).toThrow(RANGE_MESSAGES.totalNotPositive);
    expect(() => stripe(range(5), 2, -1)).toThrow(ReplicaRangeError);
  });

  test('non-integer arguments and non-iterables are refused with the value', () => {
    expect(() => chunk(range(5), 1.5, 3)).toThrow('replica must be an integer, got 1.5');
    expect(() => stripe(range(5), 1, NaN)).toThrow('total must be an integer, got NaN');
    expect(() => chunk(42 as unknown as number[], 1, 1)).toThrow(/expects an iterable.*got number/);
  });
});

describe('REPLICA_ID and REPLICA_COUNT', () => {
  test('default to 1 when unset, so one process gets everything', () => {
    withEnv({ REPLICA_ID: undefined, REPLICA_COUNT: undefined }, () => {
      expect(replicaId()).toBe(1);
      expect(replicaCount()).toBe(1);
      expect(chunk('abc')).toEqual(['a', 'b', 'c']);
    });
  });

  test('are read at call time, not at import time', () => {
    withEnv({ REPLICA_ID: '2', REPLICA_COUNT: '3' }, () => {
      expect(chunk(range(10))).toEqual([3, 4, 5]);
      expect([...stripe(range(10))]).toEqual([1, 4, 7]);
    });
    withEnv({ REPLICA_ID: ' 3\n', REPLICA_COUNT: '+3' }, () => {
      expect(chunk(range(10))).toEqual([6, 7, 8, 9]);
      expect(balanced(range(10))).toEqual([7, 8, 9]);
    });
    withEnv({ REPLICA_ID: '1_0', REPLICA_COUNT: '\u00a012\u3000' }, () => {
      expect([replicaId(), replicaCount()]).toEqual([10, 12]);
    });
  });

  test("refuse what Python's int() refuses, naming the variable and the value", () => {
    for (const bad of ['', 'abc', '2.0', '1e3', '\ufeff1']) {
      withEnv({ REPLICA_ID: bad, REPLICA_COUNT: '2' }, () => {
        expect(() => chunk([1, 2])).toThrow(ReplicaEnvironmentError);
        expect(() => replicaId()).toThrow(`REPLICA_ID=${JSON.stringify(bad)} is not an integer`);
      });
    }
    withEnv({ REPLICA_ID: '1', REPLICA_COUNT: 'four' }, () => {
      expect(() => [...stripe([1, 2])]).toThrow('REPLICA_COUNT="four" is not an integer');
    });
    withEnv({ REPLICA_ID: '99999999999999999999' }, () => {
      expect(() => replicaId()).toThrow('is too large');
    });
  });

  test('explicit arguments win: the environment is not even read', () => {
    withEnv({ REPLICA_ID: 'garbage', REPLICA_COUNT: 'garbage' }, () => {
      expect(chunk(range(4), 2, 2)).toEqual([2, 3]);
    });
  });

  test('under Deno (no process global), Deno.env is used; a permission error is not taken for "unset"', () => {
    const host = globalThis as unknown as Record<string, unknown>;
    const savedProcess = host.process;
    const values: Record<string, string> = { REPLICA_ID: '2', REPLICA_COUNT: '4' };
    try {
      host.process = undefined;
      host.Deno = { env: { get: (name: string) => values[name] } };
      expect([replicaId(), replicaCount()]).toEqual([2, 4]);
      host.Deno = {
        env: {
          get: () => {
            throw new Error('Requires env access to "REPLICA_ID"');
          },
        },
      };
      expect(() => replicaId()).toThrow(/--allow-env=REPLICA_ID,REPLICA_COUNT/);
      host.Deno = undefined;
      // A browser: no environment at all, the defaults apply.
      expect(replicaId()).toBe(1);
    } finally {
      host.process = savedProcess;
      delete host.Deno;
    }
  });
});

describe('input kinds', () => {
  test('strings split by code point, sets in insertion order', () => {
    expect(chunk('a😀bc', 1, 2)).toEqual(['a', '😀']);
    expect([...stripe('a😀bc', 2, 2)]).toEqual(['😀', 'c']);
    expect(balanced(new Set(['x', 'y', 'z']), 1, 2)).toEqual(['x', 'y']);
  });

  test('stripe is lazy: an endless generator is read only as far as consumed', () => {
    let produced = 0;
    function* naturals() {
      for (let i = 0; ; i++) {
        produced = i + 1;
        yield i;
      }
    }
    const mine = stripe(naturals(), 3, 4);
    expect(produced).toBe(0);
    const first: number[] = [];
    for (const value of mine) {
      first.push(value);
      if (first.length === 5) break;
    }
    expect(first).toEqual([2, 6, 10, 14, 18]);
    expect(produced).toBe(19);
  });

  test('async iterables: stripe gives an async iterator, chunk and balanced a promise', async () => {
    async function* numbers(n: number) {
      for (let i = 0; i < n; i++) {
        await Promise.resolve();
        yield i;
      }
    }
    const striped: number[] = [];
    for await (const value of stripe(numbers(10), 2, 3)) striped.push(value);
    expect(striped).toEqual([1, 4, 7]);
    await expect(chunk(numbers(10), 3, 3)).resolves.toEqual([6, 7, 8, 9]);
    await expect(balanced(numbers(10), 1, 3)).resolves.toEqual([0, 1, 2, 3]);
    await expect(chunk(numbers(10), 4, 3)).rejects.toThrow(RANGE_MESSAGES.replicaAboveTotal);
    const outside: number[] = [];
    for await (const value of stripe(numbers(3), 5, 3)) outside.push(value);
    expect(outside).toEqual([]);
  });
});

describe('balanced', () => {
  test('covers every item once, in order, in blocks that differ by at most one', () => {
    for (let n = 0; n <= 60; n++) {
      for (let total = 1; total <= 25; total++) {
        const parts = range(total).map((z) => balanced(range(n), z + 1, total));
        expect(parts.flat()).toEqual(range(n));
        const sizes = parts.map((p) => p.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        if (n < total || n % total === 0)
          expect(parts).toEqual(range(total).map((z) => chunk(range(n), z + 1, total)));
      }
    }
  });
});
