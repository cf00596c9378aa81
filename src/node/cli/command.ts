import type { OptionSpec } from './args';

/** What every CLI verb implements. Owned by the CLI framework (src/node/cli). */
export interface CommandIO {
  /** Arguments after the verb (global options already removed). */
  argv: string[];
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  /** Global options given before or after the verb. */
  globals: { url?: string; token?: string; certificate?: string; json: boolean };
  /** Aborted on Ctrl-C (SIGINT). */
  signal: AbortSignal;
  /** For confirmations; absent (as in tests) means not interactive. */
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
}

export interface Command {
  /** One line for `canfar-lab --help`. */
  summary: string;
  /** Full usage text for `canfar-lab VERB --help`. */
  usage: string;
  /**
   * The verb's options (node:util parseArgs format), printed by `canfar-lab --help --json` so that other
   * front ends (the Python `%canfar` magic) accept exactly the CLI's flags.
   */
  options: OptionSpec;
  /** Exit code: 0 success, 1 the service refused or failed, 2 bad usage. */
  run(io: CommandIO): Promise<number>;
}
