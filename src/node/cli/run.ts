import { version } from '../../../package.json';
import { splitGlobals, UsageError } from './args';
import type { CommandIO } from './command';
import { commands } from './commands';
import { EXIT, reportError } from './context';
import { line } from './output';

export interface MainIO {
  stdout?: CommandIO['stdout'];
  stderr?: CommandIO['stderr'];
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  stdin?: CommandIO['stdin'];
}

/** `canfar-lab --help`: the verbs and the global options. */
export function topLevelHelp(): string {
  const verbs = Object.keys(commands).sort();
  const width = Math.max(8, ...verbs.map((v) => v.length));
  return [
    'Usage: canfar-lab [GLOBAL OPTIONS] VERB [ARGS...]',
    '',
    'Sessions on a Skaha service: CANFAR, any Skaha server, or the local one.',
    '',
    'Verbs:',
    ...verbs.map((v) => `  ${v.padEnd(width)}  ${commands[v].summary}`),
    '',
    'Global options (before or after the verb):',
    '  --url URL          Skaha URL, `canfar` or `local` (default: CANFAR_URL, the config file, else local)',
    '  --token TOKEN      bearer token (default: CANFAR_TOKEN, then the config file)',
    '  --certificate PEM  proxy certificate: chain and key in one PEM (default: CANFAR_CERTIFICATE, ...)',
    '  --json             machine-readable output on stdout',
    '  -h, --help         help; `canfar-lab VERB --help` for a verb',
    '  -V, --version      the version',
    '',
    'Exit codes: 0 success, 1 the service refused or failed, 2 bad usage.',
    '',
  ].join('\n');
}

/** The global options in parseArgs format (for `--help --json`; splitGlobals reads them). */
export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  certificate: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * `canfar-lab --help --json`: every verb's summary, usage and options, and the global options: what
 * another front end needs to accept exactly the CLI's arguments (the Python `%canfar` magic ships a copy,
 * jupyterlab_canfar/kernel/cli-spec.json, written by `npm run build:node`).
 */
export function cliSpec(only?: string): Record<string, unknown> {
  const verbs = Object.keys(commands)
    .filter((verb) => only === undefined || verb === only)
    .sort()
    .map((verb) => [
      verb,
      { summary: commands[verb].summary, usage: commands[verb].usage, options: commands[verb].options },
    ]);
  return { version, globals: GLOBAL_OPTIONS, verbs: Object.fromEntries(verbs) };
}

/**
 * The CLI as a function: parses `argv` (without node and the script), runs the verb and returns the exit
 * code. Streams and environment are injectable, so tests run it in-process.
 */
export async function main(argv: string[], mainIO: MainIO = {}): Promise<number> {
  const stdout = mainIO.stdout ?? process.stdout;
  const stderr = mainIO.stderr ?? process.stderr;
  const env = mainIO.env ?? process.env;
  let parsed: ReturnType<typeof splitGlobals>;
  try {
    parsed = splitGlobals(argv);
  } catch (error) {
    return reportError({ stderr, globals: { json: false } }, error);
  }
  const { globals, verb, args } = parsed;
  if (globals.version) {
    line(stdout, globals.json ? JSON.stringify({ version }) : version);
    return EXIT.ok;
  }
  if (globals.help && globals.json && (verb === undefined || commands[verb])) {
    line(stdout, JSON.stringify(cliSpec(verb), null, 2));
    return EXIT.ok;
  }
  if (verb === undefined || verb === 'help') {
    const topic = verb === 'help' ? args[0] : undefined;
    if (topic && commands[topic]) {
      stdout.write(withNewline(commands[topic].usage));
      return EXIT.ok;
    }
    if (verb === undefined && !globals.help) {
      stderr.write(topLevelHelp());
      return reportError({ stderr, globals }, new UsageError('missing VERB'));
    }
    stdout.write(topLevelHelp());
    return EXIT.ok;
  }
  const command = commands[verb];
  if (!command) {
    const known = Object.keys(commands).sort().join(', ');
    return reportError(
      { stderr, globals },
      new UsageError(`unknown verb ${JSON.stringify(verb)}; the verbs are: ${known}`),
    );
  }
  if (globals.help) {
    stdout.write(withNewline(command.usage));
    return EXIT.ok;
  }
  const io: CommandIO = {
    argv: args,
    env,
    stdout,
    stderr,
    globals: { url: globals.url, token: globals.token, certificate: globals.certificate, json: globals.json },
    signal: mainIO.signal ?? new AbortController().signal,
    stdin: mainIO.stdin,
  };
  try {
    return await command.run(io);
  } catch (error) {
    return reportError(io, error, verb);
  }
}

const withNewline = (text: string) => (text.endsWith('\n') ? text : `${text}\n`);
