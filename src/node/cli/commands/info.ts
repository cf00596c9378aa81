import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { reportError, withConnection } from '../context';
import { json, line } from '../output';
import { sessionDetails, sessionJson } from '../sessions';

const usage = `Usage: canfar-lab info [OPTIONS] ID...

Show the details of sessions.

Options:
  --json      the sessions as a JSON array
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals: ids } = parseCommandArgs('info', io.argv, {});
  if (ids.length === 0) throw new UsageError('info needs at least one session ID', 'info');
  return withConnection(io, async ({ client }) => {
    const results = await Promise.allSettled(ids.map((id) => client.get(id)));
    let code = 0;
    const found = [];
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') found.push(result.value);
      else code = Math.max(code, reportError(io, result.reason, `info ${ids[i]}`));
    }
    if (io.globals.json) json(io.stdout, found.map(sessionJson));
    else found.forEach((s, i) => io.stdout.write(`${i ? '\n' : ''}${sessionDetails(s)}`));
    if (!io.globals.json && code && found.length)
      line(io.stderr, `${ids.length - found.length} of ${ids.length} not found.`);
    return code;
  });
}

export const info: Command = { summary: 'show session details', usage, options: {}, run };
