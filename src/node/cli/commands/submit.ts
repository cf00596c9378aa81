import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  BatchPlanError,
  BATCHES_FOLDER,
  DEFAULT_BATCH_IMAGE,
  fetchPlatformInfo,
  planBatch,
  readSubmitOptions,
  SUBMIT_OPTIONS,
  submitBatch,
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

Run a notebook as N headless replica sessions. The notebook is converted to a script and written, with
a POSIX sh wrapper (run.sh) and the manifest batch.json, into ${BATCHES_FOLDER}/<batch-id>/ beside the
notebook; replica i (1..N) gets REPLICA_ID=i, REPLICA_COUNT=N and CANFAR_BATCH_ID, and writes its output
to logs/replica-<i>.log and its exit status to status/replica-<i>.json there. Every input is checked
before anything is written or launched. The folder must be on storage the replicas mount (on CANFAR: /arc).

Options:
  -r, --replicas N        number of replicas, 1..512 (required)
      --name NAME         session name prefix, replica i is NAME-i (default: notebook name + 4 characters)
      --image IMAGE       container image (default: ${DEFAULT_IMAGE})
  -c, --cores N           cores per replica (default: flexible)
  -m, --ram GB            RAM per replica in GB (default: flexible)
  -g, --gpus N            GPUs per replica
  -e, --env KEY=VALUE     environment variable (repeatable); values of names like *TOKEN*, *SECRET*,
                          *PASSWORD*, *KEY* are sent but never written to batch.json
      --param NAME=VALUE  override a variable of the notebook's "parameters" cell (repeatable)
      --policy P          IPython magics: translate (default), ipython (needs ipython in the image), comment
      --concurrency C     session creations in flight at once (default 32)
      --follow            wait for every replica to finish: progress, then the failures by replica and cell;
                          exit code 1 if any replica failed
      --interval S        seconds between polls with --follow (default 2)
      --dry-run           check and show the plan; write and launch nothing
      --json              the plan / the result as JSON on stdout

Exit codes: 0 all replicas launched (with --follow: all completed), 1 a replica failed, 2 bad input.
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
  } = readSubmitOptions(values, positionals);
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
      if (io.globals.json) json(io.stdout, { dryRun: true, ...planSummary(plan, store) });
      else {
        const summary = planSummary(plan, store);
        line(
          io.stdout,
          `Would launch ${summary.replicas} replica(s) of ${notebook} as batch ${summary.batchId} (dry run: nothing written or sent)`,
        );
        line(io.stdout, `  sessions  ${plan.name}-1 .. ${plan.name}-${plan.replicaCount}`);
        line(io.stdout, `  image     ${summary.image}`);
        line(io.stdout, `  folder    ${summary.folder}`);
        line(io.stdout, `  command   ${summary.command}`);
        line(io.stdout, `  env       ${summary.env.join(' ')}`);
      }
      return EXIT.ok;
    }

    const progress = io.globals.json
      ? undefined
      : new Progress(io.stderr, plan.replicaIds.length, `launching ${plan.batchId}`);
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
    if (io.globals.json && !follow)
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
        `batch ${result.batchId}: ${result.launched}/${plan.replicaIds.length} replica(s) launched${result.failed ? `, ${result.failed} failed to launch` : ''}${result.cancelled ? `, ${result.cancelled} cancelled` : ''}`,
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
    if (!follow) return result.failed + result.cancelled > 0 ? EXIT.failed : EXIT.ok;
    return followBatch(io, client, store, result.folder, { intervalMs: intervalSeconds * 1000 });
  });
}

export const submit: Command = {
  summary: 'run a notebook as N headless replicas (a batch)',
  usage,
  options: SUBMIT_OPTIONS,
  run,
};
