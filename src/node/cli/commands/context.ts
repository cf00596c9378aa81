import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, line } from '../output';

const usage = `Usage: canfar-lab context [OPTIONS]

Show the resources a session may request (cores, RAM, GPUs), the allowed image registries, and which
endpoint and credential are in use.

Options:
  --json      {"endpoint", "url", "credential", "context", "repositories"}
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals } = parseCommandArgs('context', io.argv, {});
  if (positionals.length) throw new UsageError('context takes no arguments', 'context');
  return withConnection(io, async ({ client, baseUrl, endpoint, credentials }) => {
    const [context, repositories] = await Promise.all([client.context(), client.repositories()]);
    // Never the credential itself: its kind, where it came from, whose, until when.
    const credential = {
      kind: credentials.kind,
      source: credentials.source,
      ...(credentials.user ? { user: credentials.user } : {}),
      ...(credentials.expires ? { expires: credentials.expires.toISOString() } : {}),
    };
    if (io.globals.json) {
      json(io.stdout, { endpoint, url: baseUrl, credential, context, repositories });
      return 0;
    }
    const list = (o: number[]) =>
      o.length > 12 ? `${o.slice(0, 6).join(', ')}, ..., ${o.slice(-3).join(', ')}` : o.join(', ');
    line(io.stdout, `Endpoint:     ${endpoint} (${baseUrl})`);
    line(
      io.stdout,
      `Credential:   ${credential.kind} from ${credential.source}${credential.user ? `, user ${credential.user}` : ''}${credential.expires ? `, expires ${credential.expires}` : ''}`,
    );
    line(
      io.stdout,
      `CPU cores:    default ${context.cores.default} (flexible: ${context.cores.defaultRequest} to ${context.cores.defaultLimit}); options ${list(context.cores.options)}`,
    );
    line(
      io.stdout,
      `RAM (GB):     default ${context.memoryGB.default} (flexible: ${context.memoryGB.defaultRequest} to ${context.memoryGB.defaultLimit}); options ${list(context.memoryGB.options)}`,
    );
    line(io.stdout, `GPUs:         ${context.gpus.options.length ? list(context.gpus.options) : 'none'}`);
    if (context.maxInteractiveSessions !== undefined)
      line(io.stdout, `Interactive:  at most ${context.maxInteractiveSessions} sessions at once`);
    line(io.stdout, `Registries:   ${repositories.join(', ')}`);
    return 0;
  });
}

export const context: Command = {
  options: {},
  summary: 'show resource options, registries, endpoint and credential',
  usage,
  run,
};
