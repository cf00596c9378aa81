/**
 * REPLICA_ID / REPLICA_COUNT, read at call time and parsed the way Python's `int()` parses a string, so that a
 * replica running a JS script reads the same numbers as one running the official Python helpers.
 */

/** The variables a replica receives from its launcher (1-based id, and the number of replicas). */
export type ReplicaVariable = 'REPLICA_ID' | 'REPLICA_COUNT';

/** Thrown when REPLICA_ID or REPLICA_COUNT holds something Python's `int()` would refuse. */
export class ReplicaEnvironmentError extends Error {
  override readonly name = 'ReplicaEnvironmentError';
  constructor(
    readonly variable: ReplicaVariable,
    readonly value: string,
    message: string,
  ) {
    super(message);
  }
}

// The characters CPython's int() strips around a number: str.isspace() minus U+001C..U+001F, which int()
// does not accept although isspace() says they are spaces (checked against CPython 3.11).
const PY_INT_SPACE =
  '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
// Sign, then decimal digits (any Unicode Nd digit, as int() accepts them) with single underscores between.
const PY_INT = new RegExp(`^${PY_INT_SPACE}*([+-]?)(\\p{Nd}+(?:_\\p{Nd}+)*)${PY_INT_SPACE}*$`, 'u');
const ND = /^\p{Nd}$/u;

/** The value of one Unicode decimal digit: Unicode encodes each set of decimal digits as a run 0..9. */
function digitValue(char: string): number {
  const code = char.codePointAt(0)!;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  let start = code;
  while (ND.test(String.fromCodePoint(start - 1))) start -= 1;
  return (code - start) % 10;
}

/**
 * Parse `text` as Python's `int(text)` does (base 10), or return undefined when Python would raise
 * ValueError. Numbers beyond Number.MAX_SAFE_INTEGER are refused too (Python would accept them; no replica
 * count is that large).
 */
export function parsePythonInt(text: string): number | undefined {
  const match = PY_INT.exec(text);
  if (!match) return undefined;
  let value = 0;
  for (const char of match[2]) {
    if (char === '_') continue;
    value = value * 10 + digitValue(char);
  }
  if (!Number.isSafeInteger(value)) return undefined;
  return match[1] === '-' ? -value || 0 : value;
}

interface EnvHost {
  process?: { env?: Record<string, string | undefined> };
  Deno?: { env?: { get(name: string): string | undefined } };
}

/** The raw value of an environment variable, from Node/Bun (`process.env`) or Deno; undefined elsewhere. */
function readVariable(name: ReplicaVariable): string | undefined {
  const host = globalThis as unknown as EnvHost;
  const env = host.process?.env;
  if (env && typeof env === 'object') return env[name];
  const deno = host.Deno?.env;
  if (deno && typeof deno.get === 'function') {
    try {
      return deno.get(name);
    } catch (error) {
      // Defaulting to 1 here would make every replica process the whole data set: refuse instead.
      throw new ReplicaEnvironmentError(
        name,
        '',
        `cannot read ${name}: ${(error as Error)?.message ?? String(error)}. ` +
          `Run Deno with --allow-env=REPLICA_ID,REPLICA_COUNT, or pass replica and total explicitly.`,
      );
    }
  }
  return undefined;
}

/** The integer in `name`, 1 when unset (the official helpers' default). */
export function readReplicaVariable(name: ReplicaVariable): number {
  const raw = readVariable(name);
  if (raw === undefined) return 1;
  const value = parsePythonInt(raw);
  if (value === undefined) {
    const tooLarge = PY_INT.test(raw);
    throw new ReplicaEnvironmentError(
      name,
      raw,
      tooLarge
        ? `${name}=${JSON.stringify(raw)} is too large (the limit is ${Number.MAX_SAFE_INTEGER}).`
        : `${name}=${JSON.stringify(raw)} is not an integer (expected digits with an optional sign, as Python's int() ` +
            `accepts). Unset it (default 1) or set it to a whole number such as ${name === 'REPLICA_ID' ? '1' : '4'}.`,
    );
  }
  return value;
}

/** This replica's 1-based number: `REPLICA_ID`, read now (1 when unset). */
export function replicaId(): number {
  return readReplicaVariable('REPLICA_ID');
}

/** How many replicas the batch has: `REPLICA_COUNT`, read now (1 when unset). */
export function replicaCount(): number {
  return readReplicaVariable('REPLICA_COUNT');
}
