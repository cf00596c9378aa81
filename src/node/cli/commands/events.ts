import { SkahaError } from '../../../skaha';
import type { SessionEvent, SkahaClient } from '../../../skaha';
import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, line, table } from '../output';

const usage = `Usage: canfar-lab events [OPTIONS] ID

Show the cluster events of a session (scheduling, image pulls, failures), as a table.
An image that cannot be pulled leaves a session Pending: its events say why.

Options:
  --json      the events as a JSON array
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals } = parseCommandArgs('events', io.argv, {});
  if (positionals.length !== 1) throw new UsageError('events needs exactly one session ID', 'events');
  return withConnection(io, async ({ client }) => {
    const { events, queued } = await eventsOf(client, positionals[0]);
    if (io.globals.json) json(io.stdout, events);
    else if (queued)
      line(
        io.stderr,
        `No events: session ${positionals[0]} waits in the platform's queue (it has no pod yet).`,
      );
    else if (events.length === 0) line(io.stderr, 'No events.');
    else {
      io.stdout.write(
        table(events, [
          { header: 'TYPE', value: (e) => e.type },
          { header: 'REASON', value: (e) => e.reason },
          { header: 'FIRST', value: (e) => e.firstTime ?? '-' },
          { header: 'LAST', value: (e) => e.lastTime ?? '-' },
          { header: 'MESSAGE', value: (e) => e.message },
        ]),
      );
    }
    return 0;
  });
}

/**
 * The events of a session. The service answers 404 for a session without a pod: a queued one (listed,
 * Pending, no start time) has none yet, which is no error; for any other, the 404 stands.
 */
async function eventsOf(
  client: SkahaClient,
  id: string,
): Promise<{ events: SessionEvent[]; queued?: boolean }> {
  try {
    return { events: await client.events(id) };
  } catch (error) {
    if (!(error instanceof SkahaError) || error.code !== 'not-found') throw error;
    const session = await client.get(id).catch(() => undefined);
    if (session && session.status === 'Pending' && !session.startTime) return { events: [], queued: true };
    throw error;
  }
}

export const events: Command = { summary: "show a session's events", usage, options: {}, run };
