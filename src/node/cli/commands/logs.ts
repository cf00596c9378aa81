import { followLog } from '../../../skaha';
import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json } from '../output';

const usage = `Usage: canfar-lab logs [OPTIONS] ID

Print a session's log. The service has no offset or follow: each read returns the whole log, and with
-f only the new part is printed, until the session ends.
Logs disappear with the session, one hour after a headless session ends.

Options:
  -f, --follow   keep printing what the session writes until it ends (tail -f)
      --json     {"id": ..., "logs": "..."} (with -f: once the session has ended)
`;

const options = { follow: { type: 'boolean', short: 'f' } } as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('logs', io.argv, options);
  if (positionals.length !== 1) throw new UsageError('logs needs exactly one session ID', 'logs');
  const [id] = positionals;
  return withConnection(io, async ({ client }) => {
    if (!values.follow) {
      const logs = await client.logs(id);
      if (io.globals.json) json(io.stdout, { id, logs });
      else io.stdout.write(logs);
      return 0;
    }
    let logs = '';
    for await (const chunk of followLog(client, id, { signal: io.signal })) {
      logs += chunk;
      if (!io.globals.json) io.stdout.write(chunk);
    }
    if (io.globals.json) json(io.stdout, { id, logs });
    return 0;
  });
}

export const logs: Command = { summary: "print a session's log (-f: as it is written)", usage, options, run };
