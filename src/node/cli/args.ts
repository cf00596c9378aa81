import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line usage: exit code 2, the message and a pointer to --help on stderr. */
export class UsageError extends Error {
  readonly code = 'usage';
  constructor(
    message: string,
    /** The verb whose --help to suggest; empty for the top level. */
    readonly verb = '',
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs<V> {
  values: V;
  positionals: string[];
  /** Everything after a bare `--`, untouched (a command and its arguments). */
  rest: string[];
}

/**
 * node:util parseArgs with our conventions: strict, options and positionals interleaved, everything
 * after `--` kept apart, and parse errors turned into UsageError naming the verb.
 */
export function parseCommandArgs<O extends OptionSpec>(
  verb: string,
  argv: string[],
  options: O,
): ParsedArgs<Record<keyof O, string | boolean | string[] | boolean[] | undefined>> {
  const split = argv.indexOf('--');
  const head = split === -1 ? argv : argv.slice(0, split);
  const rest = split === -1 ? [] : argv.slice(split + 1);
  try {
    const parsed = parseArgs({ args: head, options, strict: true, allowPositionals: true });
    return {
      values: parsed.values as unknown as Record<
        keyof O,
        string | boolean | string[] | boolean[] | undefined
      >,
      positionals: parsed.positionals,
      rest,
    };
  } catch (error) {
    throw new UsageError(cleanParseError((error as Error).message), verb);
  }
}

/** node's messages mention internals ("To specify a positional argument starting with a '-'..."): keep the first sentence. */
function cleanParseError(message: string): string {
  return message.split('. To specify')[0].replace(/^Unknown option '(.+?)'.*$/s, "unknown option '$1'");
}

/** A whole positive integer option, or a UsageError naming the option and the value. */
export function integerOption(name: string, value: unknown, verb: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (!/^\d+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${name} must be a whole number >= ${min}, not ${JSON.stringify(value)}`, verb);
  }
  return Number(text);
}

/** Repeated `KEY=VALUE` options into a record; a value with no `=` is a usage error. */
export function keyValueOptions(
  name: string,
  values: unknown,
  verb: string,
): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const list = (Array.isArray(values) ? values : [values]).map(String);
  const result: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${name} takes KEY=VALUE, not ${JSON.stringify(item)}`, verb);
    result[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return result;
}

/** A value from a fixed list, or a UsageError listing the allowed ones. */
export function choiceOption<T extends string>(
  name: string,
  value: unknown,
  choices: readonly T[],
  verb: string,
): T | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  const found = choices.find((c) => c.toLowerCase() === text.toLowerCase());
  if (!found)
    throw new UsageError(`${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(text)}`, verb);
  return found;
}

export interface GlobalOptions {
  url?: string;
  token?: string;
  certificate?: string;
  json: boolean;
  help: boolean;
  version: boolean;
}

const GLOBAL_WITH_VALUE = ['--url', '--token', '--certificate'] as const;

/**
 * Splits argv into the global options (accepted before or after the verb, never after `--`), the verb,
 * and the verb's own arguments.
 */
export function splitGlobals(argv: string[]): { globals: GlobalOptions; verb?: string; args: string[] } {
  const globals: GlobalOptions = { json: false, help: false, version: false };
  const remaining: string[] = [];
  let verb: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      remaining.push(...argv.slice(i));
      break;
    }
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    if ((GLOBAL_WITH_VALUE as readonly string[]).includes(flag)) {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('-') && value !== '-')) {
        throw new UsageError(`${flag} needs a value`, verb ?? '');
      }
      globals[flag.slice(2) as 'url' | 'token' | 'certificate'] = value;
    } else if (arg === '--json') globals.json = true;
    else if (arg === '--help' || arg === '-h') globals.help = true;
    else if ((arg === '--version' || arg === '-V') && verb === undefined) globals.version = true;
    else if (verb === undefined && !arg.startsWith('-')) verb = arg;
    else remaining.push(arg);
  }
  return { globals, verb, args: remaining };
}
