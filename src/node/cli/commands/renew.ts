import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { reportError, withConnection } from '../context';
import { json, line } from '../output';

const usage = `Usage: canfar-lab renew [OPTIONS] ID...

Extend the expiry time of running sessions.

Options:
  --json      [{"id": ..., "renewed": true|false}]
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals: ids } = parseCommandArgs('renew', io.argv, {});
  if (ids.length === 0) throw new UsageError('renew needs at least one session ID', 'renew');
  return withConnection(io, async ({ client }) => {
    let code = 0;
    const results = [];
    for (const id of ids) {
      try {
        await client.renew(id);
        results.push({ id, renewed: true });
        if (!io.globals.json) line(io.stdout, `renewed ${id}`);
      } catch (error) {
        results.push({ id, renewed: false });
        code = Math.max(code, reportError(io, error, `renew ${id}`));
      }
    }
    if (io.globals.json) json(io.stdout, results);
    return code;
  });
}

export const renew: Command = { summary: 'extend the expiry of sessions', usage, options: {}, run };
