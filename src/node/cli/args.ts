import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../../batch/options';

// UsageError and the option readers are isomorphic (the JupyterLab extension reads the same options).
export { choiceOption, integerOption, keyValueOptions, numberOption, UsageError } from '../../batch/options';

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
        throw new UsageError(
          value === undefined
            ? `${flag} needs a value`
            : `${flag} needs a value (one that starts with "-" goes as ${flag}=${value})`,
          verb ?? '',
        );
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
