import { SESSION_KINDS, SESSION_STATUSES, type SessionStatus } from '../../../skaha';
import { choiceOption, parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { reportError, withConnection } from '../context';
import { json, line } from '../output';
import { FINISHED } from '../sessions';

const usage = `Usage: canfar-lab prune [OPTIONS] PATTERN [KIND] [STATUS]

Delete the sessions whose name starts with PATTERN (a prefix or a regular expression matched at the
start of the name). By default only finished (${FINISHED.join(', ')}) headless sessions.

Options:
  -k, --kind KIND        kind to prune (default headless; ${SESSION_KINDS.join(', ')})
  -s, --status STATUS    status to prune (default: every finished status; ${SESSION_STATUSES.join(', ')})
      --dry-run          list what would be deleted, delete nothing
      --json             [{"id": ..., "name": ..., "deleted": true|false}]

Examples:
  canfar-lab prune sweep                 finished headless sessions named sweep...
  canfar-lab prune 'sweep-[0-9]+$' -s Running
`;

const options = {
  kind: { type: 'string', short: 'k' },
  status: { type: 'string', short: 's' },
  'dry-run': { type: 'boolean' },
} as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('prune', io.argv, options);
  if (positionals.length === 0 || positionals.length > 3) {
    throw new UsageError('prune needs PATTERN, optionally followed by KIND and STATUS', 'prune');
  }
  const [pattern, kindArg, statusArg] = positionals;
  if (kindArg && values.kind) throw new UsageError('give the kind once: as KIND or as --kind', 'prune');
  if (statusArg && values.status)
    throw new UsageError('give the status once: as STATUS or as --status', 'prune');
  const kind = choiceOption('KIND', kindArg ?? values.kind, SESSION_KINDS, 'prune') ?? 'headless';
  const status = choiceOption(
    'STATUS',
    statusArg ?? values.status,
    [...SESSION_STATUSES, 'Succeeded'],
    'prune',
  );
  const statuses: readonly SessionStatus[] = status
    ? [status === 'Succeeded' ? 'Completed' : status]
    : FINISHED;
  let regex: RegExp;
  try {
    regex = new RegExp(`^(?:${pattern})`);
  } catch (error) {
    throw new UsageError(
      `PATTERN ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`,
      'prune',
    );
  }
  return withConnection(io, async ({ client }) => {
    const matching = (await client.list({ type: kind })).filter(
      (s) => statuses.includes(s.status) && regex.test(s.name),
    );
    const results = [];
    let code = 0;
    for (const session of matching) {
      if (values['dry-run']) {
        results.push({ id: session.id, name: session.name, deleted: false });
        if (!io.globals.json)
          line(io.stdout, `would delete ${session.id}  ${session.name}  ${session.status}`);
        continue;
      }
      try {
        await client.delete(session.id);
        results.push({ id: session.id, name: session.name, deleted: true });
        if (!io.globals.json) line(io.stdout, `deleted ${session.id}  ${session.name}  ${session.status}`);
      } catch (error) {
        results.push({ id: session.id, name: session.name, deleted: false });
        code = Math.max(code, reportError(io, error, `prune ${session.id}`));
      }
    }
    if (io.globals.json) json(io.stdout, results);
    else if (matching.length === 0)
      line(io.stderr, `No ${kind} session named ${pattern}... with status ${statuses.join(' or ')}.`);
    return code;
  });
}

export const prune: Command = {
  summary: 'delete sessions by name pattern, kind and status',
  usage,
  options,
  run,
};
