import { choiceOption, parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { withConnection } from '../context';
import { json, line, table } from '../output';
import { SESSION_KINDS } from '../../../skaha';

const usage = `Usage: canfar-lab images [OPTIONS]

List the images the service offers, with the session kinds each supports.

Options:
  -k, --kind KIND    only images for this kind (${SESSION_KINDS.join(', ')})
      --json         the images as a JSON array
`;

const options = { kind: { type: 'string', short: 'k' } } as const;

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('images', io.argv, options);
  if (positionals.length) throw new UsageError('images takes no arguments (use --kind KIND)', 'images');
  const kind = choiceOption('--kind', values.kind, SESSION_KINDS, 'images');
  return withConnection(io, async ({ client }) => {
    const images = (await client.images(kind)).sort((a, b) => a.id.localeCompare(b.id));
    if (io.globals.json) json(io.stdout, images);
    else if (images.length === 0) line(io.stderr, 'No images.');
    else
      io.stdout.write(
        table(images, [
          { header: 'IMAGE', value: (i) => i.id },
          { header: 'KINDS', value: (i) => i.types.join(',') },
        ]),
      );
    return 0;
  });
}

export const images: Command = { summary: 'list the available images', usage, options, run };
