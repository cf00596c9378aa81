// canfar`create -r 4 headless IMAGE -- python3 x.py`: the CLI's syntax in a notebook, calling the same
// functions as the typed API. Arguments are parsed by the CLI's own parsers (src/node/cli).
import { readFile } from 'node:fs/promises';
import { choiceOption, parseCommandArgs, UsageError } from '../cli/args';
import { parseCreate } from '../cli/commands/create';
import { SESSION_KINDS, SESSION_STATUSES } from '../../skaha';
import { readSubmitOptions, readSweepFile, SUBMIT_OPTIONS } from '../../batch';
import {
  batch,
  batches,
  deleteBatch,
  events,
  launch,
  logs,
  sessions,
  stats,
  submit,
  watch,
  type BatchOptions,
} from './commands';

/**
 * Splits a template into arguments like a shell would for simple lines: whitespace separates, '...' and
 * "..." group, and an interpolated value is ONE argument piece whatever it contains (no splitting, no
 * quote processing), so `logs ${id}` and `-e NAME=${value}` are safe with any value.
 */
export function templateArgs(strings: readonly string[], values: readonly unknown[]): string[] {
  const args: string[] = [];
  let current: string | undefined;
  let quote: '"' | "'" | undefined;
  const add = (text: string) => {
    current = (current ?? '') + text;
  };
  strings.forEach((part, index) => {
    for (const char of part) {
      if (quote) {
        if (char === quote) quote = undefined;
        else add(char);
      } else if (char === '"' || char === "'") {
        quote = char;
        add('');
      } else if (/\s/.test(char)) {
        if (current !== undefined) args.push(current);
        current = undefined;
      } else add(char);
    }
    if (index < values.length) add(String(values[index]));
  });
  if (quote) throw new UsageError(`unterminated ${quote} quote in ${JSON.stringify(strings.join('${…}'))}`);
  if (current !== undefined) args.push(current);
  return args;
}

const VERBS =
  'ps, create, submit, batches [BATCH_ID], watch BATCH_ID, logs [-f] ID, events ID, stats, batch delete BATCH_ID';

function one(verb: string, positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`${verb} takes exactly one ${what}`, verb);
  return positionals[0];
}

/** Runs one CLI line (already split) with the notebook functions; resolves to what they return. */
export async function runLine(argv: string[]): Promise<unknown> {
  const [verb, ...rest] = argv;
  switch (verb) {
    case 'ps':
    case 'sessions': {
      const { values, positionals } = parseCommandArgs(verb, rest, {
        kind: { type: 'string', short: 'k' },
        status: { type: 'string', short: 's' },
      });
      if (positionals.length) throw new UsageError(`unexpected ${JSON.stringify(positionals[0])}`, verb);
      return sessions({
        ...(values.kind ? { kind: choiceOption('--kind', values.kind, SESSION_KINDS, verb) } : {}),
        ...(values.status ? { status: choiceOption('--status', values.status, SESSION_STATUSES, verb) } : {}),
      });
    }
    case 'create':
    case 'launch': {
      const { spec, replicas, dryRun } = parseCreate(rest);
      if (dryRun) throw new UsageError('--dry-run is for the canfar-lab command line', 'create');
      return launch({ ...spec, replicas });
    }
    case 'submit': {
      const { values, positionals } = parseCommandArgs('submit', rest, SUBMIT_OPTIONS);
      // The CLI's flags are all parsed; the one a notebook cannot honour is refused by name.
      if (values['dry-run'])
        throw new UsageError(
          '--dry-run is for the canfar-lab command line: run `canfar-lab submit NOTEBOOK -r N --dry-run` in a terminal to check a batch without launching it',
          'submit',
        );
      const { notebook, input, concurrency, follow, intervalSeconds, sweepFile } = readSubmitOptions(
        values,
        positionals,
      );
      let sweep = input.sweep;
      if (sweepFile !== undefined) {
        let text: string;
        try {
          text = await readFile(sweepFile, 'utf8');
        } catch (error) {
          throw new UsageError(
            `cannot read the sweep file ${sweepFile}: ${(error as Error).message}`,
            'submit',
          );
        }
        sweep = readSweepFile(sweepFile, text);
      }
      const options: BatchOptions = { ...input, ...(sweep ? { sweep } : {}), concurrency };
      const result = await submit(notebook, options);
      // A canary needs a watcher to launch the rest: watch() is one.
      if (!follow && !options.canary) return result;
      return watch(result, { intervalMs: intervalSeconds * 1000 });
    }
    case 'batches': {
      const { positionals } = parseCommandArgs(verb, rest, {});
      if (positionals.length > 1) throw new UsageError('batches takes at most one BATCH_ID', verb);
      return positionals.length ? batch(positionals[0]) : batches();
    }
    case 'watch':
      return watch(one(verb, parseCommandArgs(verb, rest, {}).positionals, 'BATCH_ID'));
    case 'logs': {
      const { values, positionals } = parseCommandArgs(verb, rest, {
        follow: { type: 'boolean', short: 'f' },
      });
      const id = one(verb, positionals, 'session ID');
      if (!values.follow) return logs(id).text();
      // Following: the new text goes to the cell's output as it comes; nothing is returned to show twice.
      await logs(id, { follow: true }).print();
      return undefined;
    }
    case 'events':
      return events(one(verb, parseCommandArgs(verb, rest, {}).positionals, 'session ID'));
    case 'stats':
      parseCommandArgs(verb, rest, {});
      return stats();
    case 'batch': {
      const { positionals } = parseCommandArgs(verb, rest, { force: { type: 'boolean', short: 'f' } });
      if (positionals[0] !== 'delete' || positionals.length !== 2)
        throw new UsageError('in a notebook, batch supports: batch delete BATCH_ID', verb);
      return deleteBatch(positionals[1]);
    }
    default:
      throw new UsageError(
        verb === undefined
          ? `an empty command; one of: ${VERBS}`
          : `unknown command ${JSON.stringify(verb)}; one of: ${VERBS}`,
      );
  }
}

/**
 * The tagged template: `` await canfar`ps` ``, `` await canfar`create -r 4 headless ${image} -- python3 x.py` ``,
 * `` await canfar`submit sweep.ipynb -r 8 --follow` ``. Same arguments as `canfar-lab VERB`, same results as
 * the functions (sessions(), launch(), submit(), watch(), ...).
 */
export function canfarTemplate(strings: TemplateStringsArray, ...values: unknown[]): Promise<unknown> {
  try {
    return runLine(templateArgs(strings, values));
  } catch (error) {
    return Promise.reject(error);
  }
}
