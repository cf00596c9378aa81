// The options of `submit`, declared once for every way a notebook is submitted from a command line: the
// `canfar-lab submit` verb, the JS kernels' `` canfar`submit ...` `` template and the Python `%canfar submit`
// magic (whose arguments the JupyterLab extension receives already parsed, or the CLI receives as typed).
// A new flag added here and handled in `readSubmitOptions` reaches all of them; the Python magic learns it
// from the CLI's `--help --json` (jupyterlab_canfar/kernel/cli-spec.json).
import { choiceOption, integerOption, keyValueOptions, numberOption, UsageError } from './options';
import type { OptionValues } from './options';
import type { ParamValue } from './params';
import { parseSweepFile, parseSweepOption } from './sweep';
import type { SweepInput } from './sweep';
import type { BatchInput, ConversionPolicy } from './types';

/** The image a batch runs when none is given. */
export const DEFAULT_BATCH_IMAGE = 'images.canfar.net/skaha/astroml:latest';

/** The options of `submit`, in node:util parseArgs' format. */
export const SUBMIT_OPTIONS = {
  replicas: { type: 'string', short: 'r' },
  name: { type: 'string' },
  image: { type: 'string' },
  cores: { type: 'string', short: 'c' },
  ram: { type: 'string', short: 'm' },
  gpus: { type: 'string', short: 'g' },
  env: { type: 'string', short: 'e', multiple: true },
  param: { type: 'string', multiple: true },
  sweep: { type: 'string', multiple: true },
  'sweep-file': { type: 'string' },
  canary: { type: 'boolean' },
  expect: { type: 'string', multiple: true },
  policy: { type: 'string' },
  concurrency: { type: 'string' },
  follow: { type: 'boolean' },
  interval: { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

/** What a `submit` line asks for: the notebook, the batch's own fields, and how to launch and follow. */
export interface SubmitArguments {
  /** The NOTEBOOK argument as given (relative to where the command runs). */
  notebook: string;
  /** BatchInput without the notebook's path and text, which the caller reads from its own storage. */
  input: Omit<BatchInput, 'notebookPath' | 'notebookText'>;
  /** Session creations in flight at once. */
  concurrency: number;
  follow: boolean;
  /** Seconds between polls while following. */
  intervalSeconds: number;
  dryRun: boolean;
  /**
   * `--sweep-file FILE` as given: the caller reads it from its own storage and gives its text to
   * `readSweepFile` (the sets then go to `input.sweep`).
   */
  sweepFile?: string;
}

const POLICIES: readonly ConversionPolicy[] = ['translate', 'ipython', 'comment'];

/** `--interval S`: seconds between polls with --follow, a positive number (undefined when not given). */
export function intervalOption(value: unknown, verb = 'submit'): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (!(seconds > 0))
    throw new UsageError(
      `--interval must be a positive number of seconds, not ${JSON.stringify(value)}`,
      verb,
    );
  return seconds;
}

/**
 * Reads parsed `submit` options and arguments into what to submit; every usage problem is a UsageError
 * naming the option and the value, found before anything is read, written or launched.
 */
export function readSubmitOptions(values: OptionValues, positionals: readonly string[]): SubmitArguments {
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0
        ? 'submit needs the NOTEBOOK to run'
        : `submit takes exactly one NOTEBOOK, got ${positionals.length}: ${positionals.join(' ')}`,
      'submit',
    );
  const sweep = sweepOptions(values);
  const sweepFile = typeof values['sweep-file'] === 'string' ? values['sweep-file'] : undefined;
  if (sweep && sweepFile !== undefined)
    throw new UsageError('give the sweep either as --sweep options or as --sweep-file, not both', 'submit');
  if (values.replicas === undefined && !sweep && sweepFile === undefined)
    throw new UsageError(
      '-r/--replicas N is required (or a --sweep, whose shards per set -r gives)',
      'submit',
    );
  const replicas = integerOption('--replicas', values.replicas, 'submit', 1) ?? 1;
  const expect =
    values.expect === undefined
      ? []
      : (Array.isArray(values.expect) ? values.expect : [values.expect]).map(String);
  const cores = numberOption('--cores', values.cores, 'submit');
  const ram = numberOption('--ram', values.ram, 'submit');
  const gpus = numberOption('--gpus', values.gpus, 'submit');
  return {
    notebook: positionals[0],
    input: {
      replicas,
      image: typeof values.image === 'string' ? values.image : DEFAULT_BATCH_IMAGE,
      ...(typeof values.name === 'string' ? { name: values.name } : {}),
      ...(cores !== undefined ? { cores } : {}),
      ...(ram !== undefined ? { ram } : {}),
      ...(gpus !== undefined ? { gpus } : {}),
      env: keyValueOptions('--env', values.env, 'submit') ?? {},
      params: keyValueOptions('--param', values.param, 'submit') ?? {},
      ...(sweep ? { sweep } : {}),
      ...(values.canary === true ? { canary: true } : {}),
      ...(expect.length > 0 ? { expect } : {}),
      policy: choiceOption('--policy', values.policy, POLICIES, 'submit') ?? 'translate',
    },
    ...(sweepFile !== undefined ? { sweepFile } : {}),
    concurrency: integerOption('--concurrency', values.concurrency, 'submit', 1) ?? 32,
    follow: values.follow === true,
    intervalSeconds: intervalOption(values.interval) ?? 2,
    dryRun: values['dry-run'] === true,
  };
}

/**
 * `--sweep NAME=V1,V2 ...` (repeatable: every combination) as sweep axes, undefined without any; a bad
 * option or a parameter given twice is a UsageError.
 */
export function sweepOptions(
  values: OptionValues,
  verb = 'submit',
): Record<string, ParamValue[]> | undefined {
  const given = values.sweep === undefined ? [] : Array.isArray(values.sweep) ? values.sweep : [values.sweep];
  if (given.length === 0) return undefined;
  const axes: Record<string, ParamValue[]> = {};
  for (const option of given.map(String)) {
    const parsed = parseSweepOption(option);
    if ('error' in parsed) throw new UsageError(parsed.error, verb);
    if (parsed.name in axes)
      throw new UsageError(`--sweep ${parsed.name} is given twice: give its values in one list`, verb);
    axes[parsed.name] = parsed.values;
  }
  return axes;
}

/** The sets of a `--sweep-file` (its text, read by the caller), or a UsageError saying what is wrong. */
export function readSweepFile(file: string, text: string, verb = 'submit'): SweepInput {
  const parsed = parseSweepFile(file, text);
  if ('error' in parsed) throw new UsageError(parsed.error, verb);
  return parsed.sweep;
}
