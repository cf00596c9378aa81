import { seededRandom } from '../../skaha/random';
import type { FaultOptions } from './types';

export const FAULTS_ENV = 'CANFAR_LOCAL_FAULTS';

const RATE_KEYS = [
  'unavailableRate',
  'serverErrorRate',
  'dropRate',
  'createThenFailRate',
  'preemptRate',
] as const;
const NUMBER_KEYS = [
  'latencyMs',
  'retryAfterSeconds',
  'seed',
  'preemptAfterSeconds',
  'preemptWithinSeconds',
  'preemptRequeueSeconds',
] as const;
const KNOWN_KEYS = new Set<string>([...RATE_KEYS, ...NUMBER_KEYS, 'pathIncludes', 'preemptMaxTimes']);

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
  for (const key of NUMBER_KEYS) {
    const value = faults[key];
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new Error(`${source}: ${key} must be a non-negative number, got ${JSON.stringify(value)}.`);
    }
  }
  const { preemptMaxTimes, preemptWithinSeconds } = faults;
  if (preemptMaxTimes !== undefined && !(Number.isInteger(preemptMaxTimes) && preemptMaxTimes >= 1)) {
    throw new Error(
      `${source}: preemptMaxTimes must be a whole number >= 1, got ${JSON.stringify(preemptMaxTimes)}.`,
    );
  }
  if (preemptWithinSeconds !== undefined && preemptWithinSeconds <= 0) {
    throw new Error(`${source}: preemptWithinSeconds must be more than 0, got ${preemptWithinSeconds}.`);
  }
  if (faults.preemptAfterSeconds !== undefined && faults.preemptRate !== undefined) {
    throw new Error(
      `${source}: preemptAfterSeconds (every session once, on a timer) and preemptRate (seeded random) ` +
        'cannot be used together: choose one.',
    );
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

/** FNV-1a, 32 bits: a stable number from a string, to seed one draw. */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Whether preemption faults are configured. */
export const preemptsSessions = (faults: FaultOptions | undefined): boolean =>
  faults !== undefined && (faults.preemptAfterSeconds !== undefined || (faults.preemptRate ?? 0) > 0);

/**
 * Decides, request by request, which fault (if any) to inject. One draw per configured rate, in a fixed
 * order. Preemptions are decided apart (see preemptionDelayMs), so requests do not shift them.
 */
export class FaultInjector {
  private readonly random: () => number;
  private readonly seed: number;

  /** The seed in use (the option's, else one taken from the clock), so a random run can be replayed. */
  get seedValue(): number {
    return this.seed;
  }

  constructor(readonly options: FaultOptions) {
    this.seed = options.seed ?? Date.now();
    this.random = seededRandom(this.seed);
  }

  /**
   * Milliseconds after a headless session starts at which it is to be preempted, or undefined for no
   * preemption of this run. `attempt` is the run's number (1 for the first start), `injectedSoFar` the
   * preemptions already injected into this session. Timer mode: once, at preemptAfterSeconds. Random
   * mode: a draw seeded by (seed, name, attempt) only, so it does not depend on timing or request order.
   */
  preemptionDelayMs(name: string, attempt: number, injectedSoFar: number): number | undefined {
    const {
      preemptAfterSeconds,
      preemptRate = 0,
      preemptWithinSeconds = 10,
      preemptMaxTimes = 1,
    } = this.options;
    if (preemptAfterSeconds !== undefined) return injectedSoFar < 1 ? preemptAfterSeconds * 1000 : undefined;
    if (preemptRate <= 0 || injectedSoFar >= preemptMaxTimes) return undefined;
    const draw = seededRandom(hash32(`${this.seed}\u0000${name}\u0000${attempt}`));
    if (draw() >= preemptRate) return undefined;
    return Math.floor(draw() * preemptWithinSeconds * 1000);
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
