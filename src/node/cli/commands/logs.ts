import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json } from '../output';

const usage = `Usage: canfar-lab logs [OPTIONS] ID

Print a session's log (the whole log: the service has no offset or follow).
Logs disappear with the session, one hour after a headless session ends.

Options:
  --json      {"id": ..., "logs": "..."}
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals } = parseCommandArgs('logs', io.argv, {});
  if (positionals.length !== 1) throw new UsageError('logs needs exactly one session ID', 'logs');
  const [id] = positionals;
  return withConnection(io, async ({ client }) => {
    const logs = await client.logs(id);
    if (io.globals.json) json(io.stdout, { id, logs });
    else io.stdout.write(logs);
    return 0;
  });
}

export const logs: Command = { summary: "print a session's log", usage, run };
