/**
 * chunk/stripe against the official helpers' semantics, run by a real Python (test/fixtures/official_helpers.py,
 * started ONCE for the whole file with every case as JSON).
 *
 * Ranges covered:
 * - exhaustive grid: n in 0..30, replica in -3..13, total in -3..13 (31 x 17 x 17 = 8,959 cases);
 * - 12,000 seeded random cases: n in 0..200; replica and total drawn half from -10..250, a quarter from
 *   -1,000,000..1,000,000, a quarter near n (n-3..n+3), so that sparse, exact, remainder and every error case
 *   occur many times;
 * - int() parsing: 4,000 seeded random strings of 0..7 characters over digits, '_', signs, ASCII and Unicode
 *   spaces, U+001C, U+FEFF, '.', 'e', 'x', Arabic-Indic and mathematical digits, superscript two, plus fixed cases.
 * Each case compares chunk on an array, chunk on a Set, stripe on an array and stripe on a generator.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { chunk, parsePythonInt, RANGE_MESSAGES, stripe } from '../src/distributed';
import { seededRandom } from '../src/skaha/random';

type Outcome = number[] | { error: string };
interface PythonAnswer {
  cases: { chunk: Outcome; stripe: Outcome }[];
  ints: (number | { error: string })[];
}

// Python's stripe fails inside itertools.islice; ours names the actual rule. The mapping is the only
// difference in error text, and it applies to no other message.
const ISLICE_STEP_ERROR = 'Step for islice() must be a positive integer or None.';

const random = seededRandom(20260721);
const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));

function drawIndex(n: number): number {
  const pick = random();
  if (pick < 0.5) return int(-10, 250);
  if (pick < 0.75) return int(-1_000_000, 1_000_000);
  return n + int(-3, 3);
}

const cases: [number, number, number][] = [];
for (let n = 0; n <= 30; n++)
  for (let replica = -3; replica <= 13; replica++)
    for (let total = -3; total <= 13; total++) cases.push([n, replica, total]);
const gridCount = cases.length;
for (let i = 0; i < 12_000; i++) {
  const n = int(0, 200);
  cases.push([n, drawIndex(n), drawIndex(n)]);
}

const alphabet = [
  ...'0123456789',
  '_',
  '_',
  '+',
  '-',
  ' ',
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\u0085',
  '\u00a0',
  '\u2007',
  '\u3000',
  '\u001c',
  '\ufeff',
  '.',
  'e',
  'x',
  '\u0663',
  '\u{1d7cf}',
  '\u00b2',
];
const ints: string[] = [
  '',
  ' ',
  'abc',
  '2.0',
  '1e3',
  '0x10',
  ' 7 ',
  '\t-3\n',
  '+4',
  '-0',
  '007',
  '1_000',
  '_1',
  '1_',
  '1__0',
  '+_1',
  '- 1',
  '\u00a012\u3000',
  '\u001c5',
  '\ufeff5',
  '\u0663_\u0664',
  '\u{1d7cf}\u{1d7d0}',
  '\uff11\uff12',
  '\u00b2',
  '9007199254740991',
];
for (let i = 0; i < 4_000; i++) {
  const length = int(0, 7);
  let text = '';
  for (let j = 0; j < length; j++) text += alphabet[int(0, alphabet.length - 1)];
  ints.push(text);
}

let answer: PythonAnswer;

beforeAll(() => {
  const script = path.join(__dirname, 'fixtures', 'official_helpers.py');
  const run = spawnSync('/usr/bin/python3', [script], {
    input: JSON.stringify({ cases, ints }),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (run.status !== 0) throw new Error(`python reference failed (${run.status}): ${run.stderr}`);
  answer = JSON.parse(run.stdout) as PythonAnswer;
});

function outcome(fn: () => Iterable<number>): Outcome {
  try {
    return [...fn()];
  } catch (error) {
    if (error instanceof RangeError) return { error: error.message };
    throw error;
  }
}

function* generate(n: number): Generator<number> {
  for (let i = 0; i < n; i++) yield i;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('the case set is large and covers every outcome', () => {
  expect(gridCount).toBe(31 * 17 * 17);
  expect(cases.length).toBeGreaterThanOrEqual(10_000 + gridCount);
  const errors = new Set(
    answer.cases.flatMap((c) => [c.chunk, c.stripe]).flatMap((o) => ('error' in o ? [o.error] : [])),
  );
  expect(errors).toEqual(
    new Set([
      RANGE_MESSAGES.totalNotPositive,
      RANGE_MESSAGES.replicaBelowOne,
      RANGE_MESSAGES.replicaAboveTotal,
      ISLICE_STEP_ERROR,
    ]),
  );
  // Both sparse (n < total) and remainder-on-the-last-replica cases must be present.
  expect(cases.some(([n, r, t]) => n < t && r >= 1 && r <= t && r > n)).toBe(true);
  expect(cases.some(([n, r, t]) => t > 0 && n >= t && n % t !== 0 && r === t)).toBe(true);
});

test('chunk equals the official helper on every case (array and Set input)', () => {
  const mismatches: string[] = [];
  cases.forEach(([n, replica, total], i) => {
    const expected = answer.cases[i].chunk;
    const fromArray = outcome(() => chunk(range(n), replica, total));
    const fromSet = outcome(() => chunk(new Set(range(n)), replica, total));
    for (const got of [fromArray, fromSet]) {
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        mismatches.push(
          `chunk(range(${n}), ${replica}, ${total}): python ${JSON.stringify(expected)}, js ${JSON.stringify(got)}`,
        );
      }
    }
  });
  expect(mismatches.slice(0, 5)).toEqual([]);
});

test('stripe equals the official helper on every case (array and generator input)', () => {
  const mismatches: string[] = [];
  cases.forEach(([n, replica, total], i) => {
    const python = answer.cases[i].stripe;
    const expected =
      'error' in python && python.error === ISLICE_STEP_ERROR
        ? { error: RANGE_MESSAGES.totalNotPositive }
        : python;
    const fromArray = outcome(() => stripe(range(n), replica, total));
    const fromGenerator = outcome(() => stripe(generate(n), replica, total));
    for (const got of [fromArray, fromGenerator]) {
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        mismatches.push(
          `stripe(range(${n}), ${replica}, ${total}): python ${JSON.stringify(python)}, js ${JSON.stringify(got)}`,
        );
      }
    }
  });
  expect(mismatches.slice(0, 5)).toEqual([]);
});

test("REPLICA_ID/REPLICA_COUNT text is accepted and valued exactly as Python's int()", () => {
  const mismatches: string[] = [];
  ints.forEach((text, i) => {
    const python = answer.ints[i];
    const expected = typeof python === 'number' ? python : undefined;
    const got = parsePythonInt(text);
    if (got !== expected)
      mismatches.push(`${JSON.stringify(text)}: python ${JSON.stringify(python)}, js ${got}`);
  });
  expect(mismatches.slice(0, 5)).toEqual([]);
  // The random strings must exercise both outcomes.
  expect(answer.ints.filter((v) => typeof v === 'number').length).toBeGreaterThan(200);
  expect(answer.ints.filter((v) => typeof v !== 'number').length).toBeGreaterThan(200);
});
