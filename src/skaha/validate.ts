/**
 * Checks made before anything is sent: each rule here is one the service enforces with a terse 400, or, worse,
 * one it does not enforce at all (env entries it silently drops, args it silently splits, names it silently
 * cuts). Every problem names the value and the rule.
 */
import { SkahaError } from './errors';
import { SESSION_KINDS, type SessionSpec, type SkahaContext } from './types';

/** The service stores names lower-cased and cut to this many characters. */
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
}

/** `<name>-<i>` for replica i of n, the bare name when n = 1 (the official client's convention). */
export function replicaName(name: string, replica: number, total: number): string {
  return total === 1 ? name : `${name}-${replica}`;
}

const list = (values: number[]) => (values.length ? values.join(', ') : 'none');

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
 * The name rules: `[A-Za-z0-9-]+`, not starting or ending with `-` (the service answers 400 or 500), and
 * at most 63 characters with the longest replica suffix (`longest`: that full name, default the name;
 * `what`: what needs the suffix, e.g. `10 replicas`).
 */
export function nameProblems(name: unknown, longest?: string, what = 'its replicas'): string[] {
  if (typeof name !== 'string' || name === '') return ['name is required: letters, digits and "-".'];
  if (!NAME.test(name)) {
    const bad = [...new Set([...name].filter((c) => !/[A-Za-z0-9-]/.test(c)))].map((c) => JSON.stringify(c));
    return [
      `name ${JSON.stringify(name)} contains ${bad.join(', ')}: only letters, digits and "-" are allowed.`,
    ];
  }
  if (name.startsWith('-') || name.endsWith('-'))
    return [
      `name ${JSON.stringify(name)} ${name.startsWith('-') ? 'starts' : 'ends'} with "-": the service refuses such names (a session name must start and end with a letter or digit).`,
    ];
  const full = longest ?? name;
  if (full.length > MAX_NAME_LENGTH) {
    const room = MAX_NAME_LENGTH - (full.length - name.length);
    return [
      full === name
        ? `name ${JSON.stringify(name)} has ${name.length} characters: the service keeps ${MAX_NAME_LENGTH}.`
        : `name ${JSON.stringify(name)} is too long for ${what}: ${JSON.stringify(full)} has ${full.length} characters, ` +
          `the service keeps ${MAX_NAME_LENGTH} (the replica number would be cut off). Use at most ${room} characters.`,
    ];
  }
  return [];
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
  const n = replicas !== undefined && Number.isInteger(replicas) && replicas >= 1 ? replicas : 1;
  const problems = [
    ...replicaCountProblems(replicas),
    ...nameProblems(
      spec.name,
      typeof spec.name === 'string' ? replicaName(spec.name, n, n) : undefined,
      `${n} replicas`,
    ),
  ];
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
