import { SkahaError } from '../../skaha';
import { ConnectError, connect, type Connection } from '../connect';
import { CredentialsError } from '../credentials';
import { UsageError } from './args';
import type { CommandIO } from './command';
import { json, line } from './output';

/** Exit codes of every verb. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * Connects with the global options (`--url`, `--token`, `--certificate`, then the environment and the
 * config file), runs `body`, and always closes the connection pool, so a verb never leaks sockets.
 */
export async function withConnection(
  io: CommandIO,
  body: (connection: Connection) => Promise<number>,
  options: { cancelInFlight?: boolean } = {},
): Promise<number> {
  const connection = await connect({
    url: io.globals.url,
    token: io.globals.token,
    certificate: io.globals.certificate,
    env: io.env,
    // Ctrl-C cancels the requests in flight, unless the verb stops cleanly by itself (create: a POST cut
    // off midway leaves a session whose fate is unknown, so it only stops launching new ones).
    ...(options.cancelInFlight === false ? {} : { signal: io.signal }),
  });
  for (const skipped of connection.credentials.skipped ?? []) {
    line(io.stderr, `note: skipped ${skipped.source}: ${skipped.reason}`);
  }
  try {
    return await body(connection);
  } finally {
    await connection.close();
  }
}

/** The exit code for an error, after printing it (as JSON on stderr under --json). */
export function reportError(
  io: Pick<CommandIO, 'stderr' | 'globals'> & { signal?: AbortSignal },
  error: unknown,
  verb = '',
): number {
  if (io.signal?.aborted) {
    line(io.stderr, `canfar-lab${verb ? ` ${verb}` : ''}: interrupted.`);
    return EXIT.interrupted;
  }
  const code = exitCodeOf(error);
  if (io.globals.json) {
    json(io.stderr, { error: errorJson(error) });
    return code;
  }
  const message = error instanceof Error ? error.message : String(error);
  line(io.stderr, `canfar-lab${verb ? ` ${verb}` : ''}: ${message}`);
  if (error instanceof SkahaError && error.hint && !message.includes(error.hint))
    line(io.stderr, `hint: ${error.hint}`);
  if (error instanceof UsageError)
    line(
      io.stderr,
      `Run \`canfar-lab ${error.verb || verb ? `${error.verb || verb} ` : ''}--help\` for usage.`,
    );
  return code;
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof SkahaError && error.code === 'invalid-input') return EXIT.usage;
  // A malformed --url is bad usage; a missing local server or missing credentials is not.
  if (error instanceof ConnectError && /^(Not a URL|Unsupported URL)/.test(error.message)) return EXIT.usage;
  return EXIT.failed;
}

function errorJson(error: unknown): Record<string, unknown> {
  if (error instanceof SkahaError) {
    return {
      code: error.code,
      message: error.message,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.serviceMessage !== undefined ? { serviceMessage: error.serviceMessage } : {}),
      hint: error.hint,
    };
  }
  if (error instanceof CredentialsError)
    return { code: error.code, message: error.message, attempts: error.attempts };
  if (error instanceof UsageError || error instanceof ConnectError)
    return { code: error.code, message: error.message };
  return { code: 'internal', message: error instanceof Error ? error.message : String(error) };
}
