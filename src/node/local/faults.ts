import { seededRandom } from '../../skaha/random';
import type { FaultOptions } from './types';

export const FAULTS_ENV = 'CANFAR_LOCAL_FAULTS';

const RATE_KEYS = ['unavailableRate', 'serverErrorRate', 'dropRate', 'createThenFailRate'] as const;
const KNOWN_KEYS = new Set<string>([...RATE_KEYS, 'latencyMs', 'retryAfterSeconds', 'seed', 'pathIncludes']);

/** Checks fault options and says which value is wrong; unknown names are refused so typos are not silent. */
export function validateFaults(faults: FaultOptions, source: string): FaultOptions {
  for (const key of Object.keys(faults)) {
    if (!KNOWN_KEYS.has(key)) {
      throw new Error(`${source}: unknown fault "${key}"; known: ${[...KNOWN_KEYS].join(', ')}.`);
    }
  }
  for (const key of RATE_KEYS) {
    const value = faults[key];
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && value <= 1)) {
      throw new Error(`${source}: ${key} must be a number between 0 and 1, got ${JSON.stringify(value)}.`);
    }
  }
  for (const key of ['latencyMs', 'retryAfterSeconds', 'seed'] as const) {
    const value = faults[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new Error(`${source}: ${key} must be a non-negative number, got ${JSON.stringify(value)}.`);
    }
  }
  return faults;
}

/** The faults option, else `CANFAR_LOCAL_FAULTS` (JSON), else none. */
export function resolveFaults(
  option: FaultOptions | undefined,
  env: NodeJS.ProcessEnv,
): FaultOptions | undefined {
  if (option) return validateFaults(option, 'faults option');
  const text = env[FAULTS_ENV];
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`${FAULTS_ENV} is not valid JSON (${(error as Error).message}): ${text}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${FAULTS_ENV} must be a JSON object such as {"unavailableRate":0.1}, got: ${text}`);
  }
  return validateFaults(parsed as FaultOptions, FAULTS_ENV);
}

export type RequestFault =
  { kind: 'none' } | { kind: 'unavailable' } | { kind: 'server-error' } | { kind: 'drop' };

/** Decides, request by request, which fault (if any) to inject. One draw per configured rate, in a fixed order. */
export class FaultInjector {
  private readonly random: () => number;

  constructor(readonly options: FaultOptions) {
    this.random = seededRandom(options.seed ?? Date.now());
  }

  applies(path: string): boolean {
    return this.options.pathIncludes === undefined || path.includes(this.options.pathIncludes);
  }

  requestFault(): RequestFault {
    const { dropRate = 0, unavailableRate = 0, serverErrorRate = 0 } = this.options;
    if (dropRate > 0 && this.random() < dropRate) return { kind: 'drop' };
    if (unavailableRate > 0 && this.random() < unavailableRate) return { kind: 'unavailable' };
    if (serverErrorRate > 0 && this.random() < serverErrorRate) return { kind: 'server-error' };
    return { kind: 'none' };
  }

  /** After a successful create: undefined (answer normally), or how to fail the answer. */
  createFault(): 'server-error' | 'drop' | undefined {
    const rate = this.options.createThenFailRate ?? 0;
    if (rate <= 0 || this.random() >= rate) return undefined;
    return this.random() < 0.5 ? 'server-error' : 'drop';
  }
}
