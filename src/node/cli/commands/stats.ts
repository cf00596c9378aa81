import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, num, table } from '../output';

const usage = `Usage: canfar-lab stats [OPTIONS]

Show the platform's load: cores and RAM requested, available, and the most one session can get.

Options:
  --json      the figures as JSON
`;

async function run(io: CommandIO): Promise<number> {
  const { positionals } = parseCommandArgs('stats', io.argv, {});
  if (positionals.length) throw new UsageError('stats takes no arguments', 'stats');
  return withConnection(io, async ({ client }) => {
    const stats = await client.stats();
    if (io.globals.json) {
      json(io.stdout, { cores: stats.cores, ram: stats.ram });
      return 0;
    }
    const rows = [
      {
        what: 'CPU cores',
        requested: num(stats.cores.requested),
        available: num(stats.cores.available),
        max: num(stats.cores.maxPerSession),
      },
      {
        what: 'RAM (GB)',
        requested: num(stats.ram.requestedGB),
        available: num(stats.ram.availableGB),
        max: num(stats.ram.maxPerSessionGB),
      },
    ];
    io.stdout.write(
      table(rows, [
        { header: '', value: (r) => r.what },
        { header: 'REQUESTED', value: (r) => r.requested, right: true },
        { header: 'AVAILABLE', value: (r) => r.available, right: true },
        { header: 'MAX/SESSION', value: (r) => r.max, right: true },
      ]),
    );
    return 0;
  });
}

export const stats: Command = { summary: 'show the platform load', usage, options: {}, run };
