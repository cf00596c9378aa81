import type { Session } from '../../../skaha';
import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { reportError, withConnection } from '../context';
import { json, line } from '../output';
import { confirm, interactive } from '../prompt';

const usage = `Usage: canfar-lab delete [OPTIONS] ID...

Delete sessions. Asks for confirmation on a terminal; elsewhere -f is required.

Options:
  -f, --force    do not ask
      --json     [{"id": ..., "name": ..., "deleted": true|false}]
`;

const options = { force: { type: 'boolean', short: 'f' } } as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals: ids } = parseCommandArgs('delete', io.argv, options);
  if (ids.length === 0) throw new UsageError('delete needs at least one session ID', 'delete');
  if (!values.force && !interactive(io)) {
    throw new UsageError(
      'refusing to delete without confirmation: not a terminal; add -f to delete anyway',
      'delete',
    );
  }
  return withConnection(io, async ({ client }) => {
    // The service answers 200 to DELETE of any id, known or not: look the sessions up first, so a typo
    // is reported instead of silently "deleted".
    const lookups = await Promise.allSettled(ids.map((id) => client.get(id)));
    let code = 0;
    const found: Session[] = [];
    for (const [i, lookup] of lookups.entries()) {
      if (lookup.status === 'fulfilled') found.push(lookup.value);
      else code = Math.max(code, reportError(io, lookup.reason, `delete ${ids[i]}`));
    }
    if (found.length === 0) {
      if (io.globals.json) json(io.stdout, []);
      return code;
    }
    if (!values.force) {
      const list = found.map((s) => `${s.id} (${s.name}, ${s.status})`).join(', ');
      if (!(await confirm(io, `Delete ${found.length} session(s): ${list}?`))) {
        line(io.stderr, 'Nothing deleted.');
        return 1;
      }
    }
    const results = [];
    for (const session of found) {
      try {
        await client.delete(session.id);
        results.push({ id: session.id, name: session.name, deleted: true });
        if (!io.globals.json) line(io.stdout, `deleted ${session.id}  ${session.name}`);
      } catch (error) {
        results.push({ id: session.id, name: session.name, deleted: false });
        code = Math.max(code, reportError(io, error, `delete ${session.id}`));
      }
    }
    if (io.globals.json) json(io.stdout, results);
    return code;
  });
}

export const del: Command = { summary: 'delete sessions (asks first)', usage, options, run };
