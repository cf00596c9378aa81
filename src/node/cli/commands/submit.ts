import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  BatchPlanError,
  BATCHES_FOLDER,
  DEFAULT_BATCH_IMAGE,
  fetchPlatformInfo,
  planBatch,
  readSubmitOptions,
  readSweepFile,
  sessionNameOf,
  SUBMIT_OPTIONS,
  submitBatch,
  sweepTable,
  unquoteStringLiteral,
} from '../../../batch';
import type { BatchInput, BatchPlan } from '../../../batch';
import { NodeBatchStore } from '../../batch-store';
import { parseCommandArgs, UsageError } from '../args';
import type { Command, CommandIO } from '../command';
import { EXIT, withConnection } from '../context';
import { json, line, Progress } from '../output';
import { followBatch, reportPlanError } from './batch-shared';

export const DEFAULT_IMAGE = DEFAULT_BATCH_IMAGE;

const usage = `Usage: canfar-lab submit NOTEBOOK -r N [OPTIONS]
       canfar-lab submit NOTEBOOK --sweep NAME=V1,V2,... [--sweep NAME2=...] [-r R] [OPTIONS]

Run a notebook as N headless replica sessions. The notebook is converted to a script and written, with
a POSIX sh wrapper (run.sh) and the manifest batch.json, into ${BATCHES_FOLDER}/<batch-id>/ beside the
notebook; replica i (1..N) gets REPLICA_ID=i, REPLICA_COUNT=N and CANFAR_BATCH_ID, and writes its output
to logs/replica-<i>.log and its exit status to status/replica-<i>.json there. Every input is checked
before anything is written or launched. The folder must be on storage the replicas mount (on CANFAR: /arc).

A sweep runs the notebook once per parameter set (every combination of the --sweep lists, or the rows of
--sweep-file), each set as R shards (-r R, default 1): S x R sessions, at most 512. Replica i = (set-1) x R
+ shard; REPLICA_ID/REPLICA_COUNT are the shard and R (so chunk()/stripe() split each set's data), and
CANFAR_SET_ID, CANFAR_BATCH_REPLICA_ID tell the set and the batch-wide index. Sessions are named
NAME-<set>-<shard> (NAME-<i> when R = 1).

Options:
  -r, --replicas N        number of replicas, 1..512 (required without a sweep); with a sweep: shards per set
      --name NAME         session name prefix, replica i is NAME-i (default: notebook name + 4 characters)
      --image IMAGE       container image (default: ${DEFAULT_IMAGE})
  -c, --cores N           cores per replica (default: flexible)
  -m, --ram GB            RAM per replica in GB (default: flexible)
  -g, --gpus N            GPUs per replica
  -e, --env KEY=VALUE     environment variable (repeatable); values of names like *TOKEN*, *SECRET*,
                          *PASSWORD*, *KEY* are sent but never written to batch.json
      --param NAME=VALUE  set a variable of the notebook's "parameters" cell for every replica (repeatable);
                          the value is parsed with the type of the default; for a string, a quoted literal
                          ("a b" or 'a,b') stands for the text inside; any text (=, quotes, newlines,
                          non-ASCII) reaches the replica intact
      --sweep NAME=V1,V2  sweep a parameter over these values (repeatable: every combination); values are
                          split on commas; for values holding commas give a JSON list:
                          --sweep 'method=["a,b", "c"]' (a list parameter: --sweep 'bands=[[1,2],[3]]')
      --sweep-file FILE   the parameter sets, one per row: CSV with a header row of parameter names (an empty
                          cell keeps the notebook's default), or a JSON list of objects
      --canary            launch replica 1 alone first; the others only once it completed with exit 0 (a
                          failing canary stops the batch: nothing else is launched)
      --expect PATTERN    an output every replica must write, relative to the notebook's folder, with
                          {replica}, {set}, {shard} and * (repeatable); exit 0 without it is "output missing"
      --policy P          IPython magics: translate (default), ipython (needs ipython in the image), comment
      --concurrency C     session creations in flight at once (default 32)
      --follow            wait for every replica to finish, and for the combine step (cells tagged
                          "combine"): progress, then the failures by replica and cell; exit code 1 if any
                          replica or the combine failed
      --interval S        seconds between polls with --follow or --canary (default 2)
      --dry-run           check and show the plan (with a sweep: the table of sets); write and launch nothing
      --json              the plan / the result as JSON on stdout

Exit codes: 0 all replicas launched (with --follow: all completed, and the combine), 1 a replica failed,
2 bad input.
`;

// The options of `submit` are declared once, in src/batch/submit-options.ts (the JS kernels' template and
// the JupyterLab extension read them too); re-exported for the callers that import them from here.
export { intervalOption, SUBMIT_OPTIONS } from '../../../batch';

/** The store root and the notebook's path in it: the current directory when it holds the notebook. */
export function notebookLocation(notebook: string): { root: string; notebookPath: string } {
  const full = path.resolve(notebook);
  const cwd = process.cwd();
  const relative = path.relative(cwd, full);
  if (!relative.startsWith('..') && !path.isAbsolute(relative))
    return { root: cwd, notebookPath: relative.split(path.sep).join('/') };
  return { root: path.dirname(full), notebookPath: path.basename(full) };
}

function planSummary(plan: BatchPlan, store: NodeBatchStore) {
  return {
    batchId: plan.batchId,
    name: plan.name,
    folder: store.absolutePath(plan.folder),
    replicas: plan.replicaIds.length,
    image: plan.spec.image,
    resources: plan.manifest.resources,
    command: [plan.spec.cmd, ...(plan.spec.args ?? [])].join(' '),
    env: plan.manifest.env.names,
    interpreter: plan.conversion.interpreter,
    warnings: plan.warnings,
    sessions: plan.replicas.map((r) => r.name),
    ...(plan.sweep ? { sweep: plan.sweep } : {}),
    ...(plan.manifest.canary ? { canary: plan.manifest.canary } : {}),
    ...(plan.manifest.expect ? { expect: plan.manifest.expect } : {}),
    ...(plan.conversion.combineCells ? { combineCells: plan.conversion.combineCells.map((c) => c + 1) } : {}),
  };
}

async function run(io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs('submit', io.argv, SUBMIT_OPTIONS);
  const {
    notebook,
    input: options,
    concurrency,
    follow,
    intervalSeconds,
    dryRun,
    sweepFile,
  } = readSubmitOptions(values, positionals);
  let sweepText: string | undefined;
  if (sweepFile !== undefined) {
    try {
      sweepText = await readFile(sweepFile, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read the sweep file ${sweepFile}: ${(error as Error).message}`, 'submit');
    }
  }
  let text: string;
  try {
    text = await readFile(notebook, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the notebook ${notebook}: ${(error as Error).message}`, 'submit');
  }
  const { root, notebookPath } = notebookLocation(notebook);
  const store = new NodeBatchStore(root);
  const input: BatchInput = {
    ...options,
    ...(sweepFile !== undefined && sweepText !== undefined
      ? { sweep: readSweepFile(sweepFile, sweepText) }
      : {}),
    notebookPath,
    notebookText: text,
    ...(io.env.USER ? { user: io.env.USER } : {}),
  };

  return withConnection(io, async (connection) => {
    const { client } = connection;
    input.endpoint = connection.baseUrl;
    let plan: BatchPlan;
    try {
      plan = await planBatch(input, await fetchPlatformInfo(client, io.signal), store);
    } catch (error) {
      if (error instanceof BatchPlanError) return reportPlanError(io, error);
      throw error;
    }
    for (const warning of plan.warnings) line(io.stderr, `warning: ${warning}`);
    if (dryRun) {
      const summary = planSummary(plan, store);
      if (io.globals.json) json(io.stdout, { dryRun: true, ...summary });
      else {
        line(
          io.stdout,
          `Would launch ${summary.replicas} replica(s) of ${notebook} as batch ${summary.batchId} (dry run: nothing written or sent)`,
        );
        const names = plan.replicas.map((r) => r.name);
        line(
          io.stdout,
          `  sessions  ${names.length > 2 ? `${names[0]} .. ${names[names.length - 1]}` : names.join(' ')}`,
        );
        line(io.stdout, `  image     ${summary.image}`);
        line(io.stdout, `  folder    ${summary.folder}`);
        line(io.stdout, `  command   ${summary.command}`);
        line(io.stdout, `  env       ${summary.env.join(' ')}`);
        if (plan.manifest.canary)
          line(
            io.stdout,
            `  canary    replica ${plan.manifest.canary.replica} first, the others once it completed`,
          );
        if (plan.manifest.expect) line(io.stdout, `  expect    ${plan.manifest.expect.join(' ')}`);
        if (plan.conversion.combineCells)
          line(
            io.stdout,
            `  combine   cell(s) ${plan.conversion.combineCells.map((c) => c + 1).join(', ')}, once after every replica completed`,
          );
        if (plan.sweep) {
          const sweep = plan.sweep;
          line(io.stdout, `${sweep.sets.length} parameter set(s) x ${sweep.shards} shard(s):`);
          const defaults = Object.fromEntries(
            plan.conversion.parameters.map((p) => [
              p.name,
              p.type === 'str' ? (unquoteStringLiteral(p.default) ?? p.default) : p.default,
            ]),
          );
          io.stdout.write(
            `${sweepTable(
              sweep,
              (set) =>
                Array.from({ length: sweep.shards }, (_, k) =>
                  sessionNameOf(plan.name, (set - 1) * sweep.shards + k + 1, plan.shape),
                ),
              defaults,
            )}\n`,
          );
        }
      }
      return EXIT.ok;
    }

    const first = plan.manifest.canary ? 1 : plan.replicaIds.length;
    const progress = io.globals.json
      ? undefined
      : new Progress(
          io.stderr,
          first,
          plan.manifest.canary ? `launching the canary of ${plan.batchId}` : `launching ${plan.batchId}`,
        );
    const result = await submitBatch(plan, {
      client,
      store,
      concurrency,
      signal: io.signal,
      onProgress: (p) => {
        const ok = p.launch.state === 'launched';
        const what =
          ok && p.launch.state === 'launched'
            ? `replica ${p.replica} launched as ${p.launch.sessionId}`
            : `replica ${p.replica} ${p.launch.state}: ${'message' in p.launch ? p.launch.message : ''}`;
        progress?.step(ok, what);
      },
    });
    progress?.end();
    const folder = store.absolutePath(result.folder);
    if (io.globals.json && !follow && !plan.manifest.canary)
      json(io.stdout, {
        batchId: result.batchId,
        folder,
        launched: result.launched,
        failed: result.failed,
        cancelled: result.cancelled,
        replicas: result.manifest.replicas,
      });
    else if (!io.globals.json) {
      line(
        io.stdout,
        plan.manifest.canary
          ? `batch ${result.batchId}: canary replica ${plan.manifest.canary.replica} ${result.launched ? 'launched' : 'not launched'}; the other ${plan.replicaIds.length - 1} wait for it to complete`
          : `batch ${result.batchId}: ${result.launched}/${plan.replicaIds.length} replica(s) launched${result.failed ? `, ${result.failed} failed to launch` : ''}${result.cancelled ? `, ${result.cancelled} cancelled` : ''}`,
      );
      line(io.stdout, `folder ${folder}`);
    }
    if (io.signal.aborted) {
      line(
        io.stderr,
        `Interrupted: ${result.launched} replica(s) were launched and keep running (recorded in ${folder}/batch.json).`,
      );
      return 130;
    }
    if (!follow && !plan.manifest.canary) return result.failed + result.cancelled > 0 ? EXIT.failed : EXIT.ok;
    // A canary needs someone to launch the rest: this command waits for it (and goes on with --follow).
    return followBatch(io, client, store, result.folder, {
      intervalMs: intervalSeconds * 1000,
      plan,
      concurrency,
      untilLaunched: !follow,
    });
  });
}

export const submit: Command = {
  summary: 'run a notebook as N headless replicas (a batch)',
  usage,
  options: SUBMIT_OPTIONS,
  run,
};
