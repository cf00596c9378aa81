import { choiceOption, parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, line } from '../output';
import { SESSION_KINDS, SESSION_STATUSES } from '../../../skaha';
import { byStartTime, sessionJson, sessionsTable } from '../sessions';

const usage = `Usage: canfar-lab ps [OPTIONS]

List your sessions, oldest first. By default only pending and running ones.

Options:
  -a, --all              all sessions, finished ones included
  -k, --kind KIND        only this kind (${SESSION_KINDS.join(', ')})
  -s, --status STATUS    only this status (${SESSION_STATUSES.join(', ')}); implies --all
  -q, --quiet            session ids only, one per line
      --json             the sessions as a JSON array
`;

const options = {
  all: { type: 'boolean', short: 'a' },
  kind: { type: 'string', short: 'k' },
  status: { type: 'string', short: 's' },
  quiet: { type: 'boolean', short: 'q' },
} as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('ps', io.argv, options);
  if (positionals.length)
    throw new UsageError(`ps takes no arguments, got ${JSON.stringify(positionals[0])}`, 'ps');
  const type = choiceOption('--kind', values.kind, SESSION_KINDS, 'ps');
  const status = choiceOption('--status', values.status, SESSION_STATUSES, 'ps');
  return withConnection(io, async ({ client }) => {
    const all = await client.list({ ...(type ? { type } : {}), ...(status ? { status } : {}) });
    const shown = (
      values.all || status ? all : all.filter((s) => s.status === 'Pending' || s.status === 'Running')
    ).sort(byStartTime);
    if (io.globals.json) json(io.stdout, shown.map(sessionJson));
    else if (values.quiet) for (const s of shown) line(io.stdout, s.id);
    else if (shown.length === 0) {
      line(
        io.stderr,
        all.length ? `No pending or running sessions (${all.length} finished: use --all).` : 'No sessions.',
      );
    } else io.stdout.write(sessionsTable(shown));
    return 0;
  });
}

export const ps: Command = { summary: 'list sessions', usage, options, run };
