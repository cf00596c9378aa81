/**
 * Checks made before anything is sent: each rule here is one the service enforces with a terse 400, or, worse,
 * one it does not enforce at all (env entries it silently drops, args it silently splits, names it silently
 * cuts). Every problem names the value and the rule.
 */
import { SkahaError } from './errors';
import { SESSION_KINDS, type SessionSpec, type SkahaContext } from './types';

/**
 * The longest session name: a session's name is also its pod's hostname (a DNS label), so the service
 * answers 500 for a longer one (older versions cut it to this length).
 */
export const MAX_NAME_LENGTH = 63;
/** The official client's limit on replicas per launch. */
export const MAX_REPLICAS = 512;
const NAME = /^[A-Za-z0-9-]+$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Set by createReplicas in every replica (as the official client does). */
export const REPLICA_ENV_KEYS = ['REPLICA_ID', 'REPLICA_COUNT'] as const;

export interface ValidateOptions {
  /** The service's /context: when given, cores, ram and gpus must be among its options. */
  context?: SkahaContext;
  /** The service's allowed registries (GET /repository): when given, the image must be on one of them. */
  repositories?: string[];
  /** When the spec is the template of a replica launch: how many replicas. */
  replicas?: number;
  /**
   * Length of the longest suffix the launch appends to `name`, its "-" included (a sweep's
   * `-<set>-<shard>`); default: that of `-<replicas>` when replicas > 1, else none.
   */
  nameSuffixLength?: number;
  /** The final session names, when the caller has them: each one is checked (instead of the longest). */
  names?: string[];
}

/** `<name>-<i>` for replica i of n, the bare name when n = 1 (the official client's convention). */
export function replicaName(name: string, replica: number, total: number): string {
  return total === 1 ? name : `${name}-${replica}`;
}

/** "1, 2, 4" or, for runs of three or more consecutive integers, "1..192". */
function list(values: number[]): string {
  if (values.length === 0) return 'none';
  const parts: string[] = [];
  for (let i = 0; i < values.length;) {
    let j = i;
    while (j + 1 < values.length && values[j + 1] === values[j] + 1) j += 1;
    if (j - i >= 2) parts.push(`${values[i]}..${values[j]}`);
    else for (let k = i; k <= j; k += 1) parts.push(String(values[k]));
    i = j + 1;
  }
  return parts.join(', ');
}

const HOSTNAME_RULE = "a session's name is also its pod's hostname, so the service answers 500 otherwise";

/**
 * The rules on final session names (the name with its replica suffix) that the service does not state
 * with a clear 400: a leading "-" (400 "canfar.net/name label value cannot be blank"), a trailing "-" or
 * more than 63 characters (500: invalid pod hostname). `name` has passed the character rule.
 */
function finalNameProblems(name: string, options: ValidateOptions): string[] {
  const problems: string[] = [];
  if (name.startsWith('-')) {
    problems.push(
      `name ${JSON.stringify(name)} starts with "-": the service refuses it ("canfar.net/name label value cannot be blank"). ` +
        'Start it with a letter or digit.',
    );
  }
  const names = options.names?.filter((n) => typeof n === 'string');
  if (names && names.length > 0) {
    const of = names.length > 1 ? ` (one of ${names.length} session names)` : '';
    const leading = names.find((n) => n.startsWith('-'));
    if (leading !== undefined && !name.startsWith('-')) {
      problems.push(
        `name ${JSON.stringify(leading)}${of} starts with "-": the service refuses it ("canfar.net/name label value cannot be blank").`,
      );
    }
    const trailing = names.filter((n) => n.endsWith('-'));
    if (trailing.length > 0) {
      problems.push(
        `name ${JSON.stringify(trailing[0])}${of} ends with "-": it must end with a letter or digit (${HOSTNAME_RULE}).`,
      );
    }
    const longest = names.reduce((a, b) => (b.length > a.length ? b : a));
    if (longest.length > MAX_NAME_LENGTH) {
      const over = longest.length - MAX_NAME_LENGTH;
      problems.push(
        `name ${JSON.stringify(longest)}${of} has ${longest.length} characters, more than ${MAX_NAME_LENGTH} (${HOSTNAME_RULE}). ` +
          `Shorten ${JSON.stringify(name)} by ${over} character${over === 1 ? '' : 's'}.`,
      );
    }
    return problems;
  }
  const { replicas, nameSuffixLength } = options;
  const n = replicas !== undefined && Number.isInteger(replicas) && replicas >= 1 ? replicas : 1;
  const suffix =
    nameSuffixLength !== undefined && Number.isInteger(nameSuffixLength) && nameSuffixLength >= 0
      ? nameSuffixLength
      : replicaName(name, n, n).length - name.length;
  if (suffix === 0 && name.endsWith('-')) {
    problems.push(
      `name ${JSON.stringify(name)} ends with "-": it must end with a letter or digit (${HOSTNAME_RULE}).`,
    );
  }
  const length = name.length + suffix;
  if (length > MAX_NAME_LENGTH) {
    const room = MAX_NAME_LENGTH - suffix;
    if (suffix === 0) {
      problems.push(
        `name ${JSON.stringify(name)} has ${name.length} characters, more than ${MAX_NAME_LENGTH} (${HOSTNAME_RULE}).`,
      );
    } else if (nameSuffixLength === undefined) {
      const longest = replicaName(name, n, n);
      problems.push(
        `name ${JSON.stringify(name)} is too long for ${n} replicas: ${JSON.stringify(longest)} has ${longest.length} characters, ` +
          `more than ${MAX_NAME_LENGTH} (${HOSTNAME_RULE}). Use at most ${room} characters.`,
      );
    } else {
      problems.push(
        `name ${JSON.stringify(name)} is too long for its replica suffix: with the longest one (${suffix} characters) ` +
          `a session name has ${length} characters, more than ${MAX_NAME_LENGTH} (${HOSTNAME_RULE}). Use at most ${room} characters.`,
      );
    }
  }
  return problems;
}

function checkResource(
  problems: string[],
  label: 'cores' | 'ram' | 'gpus',
  value: number | undefined,
  options: number[] | undefined,
  unit: string,
): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    problems.push(`${label}=${String(value)} is not a number.`);
    return;
  }
  if (label === 'gpus' && value === 0) {
    problems.push('gpus=0: leave gpus out for a session without GPU (the service refuses gpus=0).');
    return;
  }
  if (!Number.isInteger(value) || value < 1) {
    problems.push(
      `${label}=${value} must be a whole number of ${unit}, at least 1 (the service ignores fractions).`,
    );
    return;
  }
  if (options && !options.includes(value)) {
    problems.push(
      `${label}=${value} is not offered by this service: choose one of ${list(options)} (${unit}, from /context).`,
    );
  }
}

/**
 * Every name rule: given, `[A-Za-z0-9-]+`, then the rules on the final session names (see
 * finalNameProblems: no leading or trailing "-", at most 63 characters with the longest replica suffix),
 * from `options.replicas`, `nameSuffixLength` or `names` (each replica's own name).
 */
export function nameProblems(name: unknown, options: ValidateOptions = {}): string[] {
  if (typeof name !== 'string' || name === '') return ['name is required: letters, digits and "-".'];
  if (!NAME.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9-]/.test(c)))].map((c) => JSON.stringify(c));
    return [
      `name ${JSON.stringify(name)} contains ${bad.join(', ')}: only letters, digits and "-" are allowed.`,
    ];
  }
  return finalNameProblems(name, options);
}

/** The image is given, without white space, and (with `repositories`) on an allowed registry. */
export function imageProblems(image: unknown, repositories?: string[]): string[] {
  if (typeof image !== 'string' || image.trim() === '')
    return ['image is required, e.g. images.canfar.net/skaha/astroml:latest.'];
  if (/\s/.test(image)) return [`image ${JSON.stringify(image)} contains white space.`];
  if (repositories && repositories.length > 0 && !repositories.some((host) => image.startsWith(`${host}/`)))
    return [
      `image ${JSON.stringify(image)} is not on a registry this service allows (${repositories.join(', ')}): ` +
        `write it as ${repositories[0]}/<project>/<image>:<tag>.`,
    ];
  return [];
}

/** cores, ram and gpus: whole numbers, gpus never 0, and (with a context) among the service's options. */
export function resourceProblems(
  spec: Pick<SessionSpec, 'cores' | 'ram' | 'gpus'>,
  context?: SkahaContext,
): string[] {
  const problems: string[] = [];
  checkResource(problems, 'cores', spec.cores, context?.cores.options, 'cores');
  checkResource(problems, 'ram', spec.ram, context?.memoryGB.options, 'GB');
  checkResource(problems, 'gpus', spec.gpus, context?.gpus.options, 'GPUs');
  return problems;
}

/** cmd and args: headless only, no white space in cmd, no empty argument and no space inside one. */
export function commandProblems(spec: Pick<SessionSpec, 'kind' | 'cmd' | 'args'>): string[] {
  const problems: string[] = [];
  const kind = spec.kind ?? 'headless';
  if (kind !== 'headless' && (spec.cmd !== undefined || (spec.args && spec.args.length > 0))) {
    problems.push(`cmd and args apply to headless sessions only, not to kind ${JSON.stringify(kind)}.`);
  }
  if (spec.cmd !== undefined && (typeof spec.cmd !== 'string' || spec.cmd.trim() === '')) {
    problems.push('cmd, when given, must be a non-empty command.');
  } else if (spec.cmd !== undefined && /\s/.test(spec.cmd)) {
    problems.push(
      `cmd ${JSON.stringify(spec.cmd)} contains white space: give the program alone as cmd and its arguments as args.`,
    );
  }
  for (const [i, arg] of (spec.args ?? []).entries()) {
    if (typeof arg !== 'string' || arg === '') {
      problems.push(`args[${i}] is empty: the service joins args with spaces, so an empty argument is lost.`);
    } else if (arg.includes(' ')) {
      problems.push(
        `args[${i}] ${JSON.stringify(arg)} contains a space: the service splits args on spaces, with no quoting. ` +
          'Pass a script path instead, or split it into separate arguments.',
      );
    }
  }
  return problems;
}

/**
 * env entries the service would refuse or silently drop: bad names, empty values, values with `=`; with
 * `reserveReplicaKeys`, REPLICA_ID and REPLICA_COUNT too (the launcher sets them for each replica).
 */
export function envProblems(env: Record<string, string> | undefined, reserveReplicaKeys = false): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(env ?? {})) {
    if (!ENV_KEY.test(key)) {
      problems.push(
        `env key ${JSON.stringify(key)} is not a valid variable name (letters, digits, "_", not starting with a digit).`,
      );
    } else if (reserveReplicaKeys && (REPLICA_ENV_KEYS as readonly string[]).includes(key)) {
      problems.push(`env ${key} is set for each replica by the launcher: remove it from env.`);
    }
    if (typeof value !== 'string' || value === '') {
      problems.push(
        `env ${key} is empty: the service silently drops empty values. Give it a value, or leave it out.`,
      );
    } else if (value.includes('=')) {
      problems.push(
        `env ${key}=${JSON.stringify(value)} contains "=": the service silently drops such entries. ` +
          'Encode the value (for example base64) or pass it another way (a file under /arc).',
      );
    }
  }
  return problems;
}

/** The replica count of one launch: 1..512. */
export function replicaCountProblems(replicas: number | undefined): string[] {
  return replicas !== undefined && (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS)
    ? [`replicas=${replicas} is out of range: launch between 1 and ${MAX_REPLICAS} replicas.`]
    : [];
}

/** Throws SkahaError 'invalid-input' with the problems (one, or a numbered list); returns when there are none. */
export function throwProblems(problems: string[]): void {
  if (problems.length === 1) throw new SkahaError('invalid-input', problems[0]);
  if (problems.length > 1) {
    throw new SkahaError('invalid-input', `${problems.length} problems:\n- ${problems.join('\n- ')}`);
  }
}

/**
 * Throw SkahaError 'invalid-input' listing every problem of `spec`, or return quietly. Nothing is sent.
 */
export function validateSessionSpec(spec: SessionSpec, options: ValidateOptions = {}): void {
  const { context, repositories, replicas } = options;
  const kind = spec.kind ?? 'headless';
  const problems = [...replicaCountProblems(replicas), ...nameProblems(spec.name, options)];
  if (!SESSION_KINDS.includes(kind)) {
    problems.push(
      `kind ${JSON.stringify(kind)} is not a session kind: use one of ${SESSION_KINDS.join(', ')}.`,
    );
  }
  problems.push(
    ...imageProblems(spec.image, repositories),
    ...resourceProblems(spec, context),
    ...commandProblems(spec),
    ...envProblems(spec.env, replicas !== undefined),
  );
  if (spec.registryAuth) {
    const { username, secret } = spec.registryAuth;
    if (!username || !secret) problems.push('registryAuth needs both a username and a secret.');
    else if (username.includes(':')) {
      problems.push(
        `registryAuth username ${JSON.stringify(username)} contains ":", which cannot be sent as user:secret.`,
      );
    }
  }
  throwProblems(problems);
}
