/**
 * What the Python `%canfar` magic asks the extension to do (kernel-requests.ts brings the requests): the
 * batch engine's verbs (submit, batches, watch, batch delete/prune/rerun, convert) run here with the same
 * code as the panel and the submit dialog: src/batch through BatchBridge, the model and the contents API.
 * Results have the shapes of `canfar-lab VERB --json`, so the kernel reads both routes alike.
 */
import {
  basename,
  BATCH_ID_PATTERN,
  BatchPlanError,
  deleteAndHideBatch,
  deleteReplica,
  dirname,
  integerOption,
  joinPath,
  keyValueOptions,
  listBatchFolders,
  pollBatches,
  pruneFinished,
  readManifest,
  readSubmitOptions,
  readSweepFile,
  UsageError,
  undeletedBatchFolders,
} from '../batch';
import type { BatchPlan, BatchStore, BatchView, OptionValues, SubmitResult } from '../batch';
import { convertNotebook } from '../convert';
import { SkahaError } from '../skaha';
import type { SkahaClient } from '../skaha';
import type { BatchBridge } from './batch-bridge';
import type { CanfarModel } from './model';

/** A request as the kernel sends it (jupyterlab_canfar/kernel/engine.py `_lab_call`). */
export interface KernelRequest {
  verb: string;
  /** Option values as parsed by the magic with the CLI's declaration (cli-spec.json). */
  values: OptionValues;
  positionals: string[];
  /** The kernel's working directory, relative to the Jupyter root: where relative paths start. */
  cwd: string;
  /** Chosen by the kernel, so its output names the batch before it is launched. */
  batchId?: string;
  follow?: boolean;
  /** Seconds between polls while watching. */
  interval?: number;
}

/** Posts progress to the kernel; resolves to whether the kernel gave up (interrupted). */
export type ReportProgress = (progress: unknown) => Promise<{ cancelled: boolean }>;

export interface VerbContext {
  bridge: BatchBridge;
  model: CanfarModel;
  client: SkahaClient;
  store: BatchStore;
  /** Milliseconds to wait between polls while watching (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/** The error as the kernel shows it (engine.py reads `code`, `message`, `problems`, `verb`, `hint`). */
export function errorJson(error: unknown, verb: string): Record<string, unknown> {
  if (error instanceof UsageError) return { code: 'usage', verb: error.verb || verb, message: error.message };
  if (error instanceof BatchPlanError)
    return {
      code: 'invalid-input',
      message: error.message,
      problems: error.problems.map(
        (p) =>
          `${p.field}${p.value === undefined ? '' : ` = ${JSON.stringify(p.value)}`}: ${p.rule}${p.hint ? ` (${p.hint})` : ''}`,
      ),
    };
  if (error instanceof SkahaError)
    return {
      code: error.code,
      message: error.message,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.serviceMessage !== undefined ? { serviceMessage: error.serviceMessage } : {}),
      hint: error.hint,
    };
  return { code: 'failed', message: error instanceof Error ? error.message : String(error) };
}

/** A path the kernel gave, relative to its folder, as a path under the Jupyter root (never above it). */
export function underRoot(cwd: string, path: string, verb: string): string {
  if (path.startsWith('/'))
    throw new UsageError(
      `${path}: give the path relative to the notebook's folder (JupyterLab reads files under its root only)`,
      verb,
    );
  const parts: string[] = [];
  for (const part of `${cwd}/${path}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0)
        throw new UsageError(`${path} is outside the Jupyter root: JupyterLab cannot read it`, verb);
      parts.pop();
    } else parts.push(part);
  }
  return parts.join('/');
}

const FAILED = new Set(['failed', 'launch-failed', 'lost', 'pull-error', 'cancelled', 'output-missing']);

/** A monitor view as the kernel reads it: `canfar-lab batches ID --json`, with both folder forms. */
export function viewJson(view: BatchView, store: BatchStore): Record<string, unknown> {
  const { manifest, ...rest } = view;
  return {
    ...rest,
    notebook: manifest.notebook.path,
    absoluteFolder: store.absolutePath(view.folder),
    ...(manifest.deletedAt ? { deletedAt: manifest.deletedAt } : {}),
  };
}

function launchedJson(plan: BatchPlan, result: SubmitResult, store: BatchStore, warnings: string[]) {
  return {
    batchId: result.batchId,
    name: plan.name,
    notebook: plan.manifest.notebook.path,
    folder: result.folder,
    absoluteFolder: store.absolutePath(result.folder),
    launched: result.launched,
    failed: result.failed,
    cancelled: result.cancelled,
    total: plan.replicaIds.length,
    replicas: result.manifest.replicas,
    warnings,
  };
}

export class KernelVerbs {
  constructor(private readonly ctx: VerbContext) {}

  /** Runs one request; the result is JSON for the kernel. UsageError & co. are the caller's to report. */
  async run(request: KernelRequest, progress: ReportProgress, signal: AbortSignal): Promise<unknown> {
    switch (request.verb) {
      case 'submit':
        return this.submit(request, progress, signal);
      case 'batches':
        return this.batches(request);
      case 'batch-status':
        return viewJson(await this.view(request.cwd, this.batchId(request)), this.ctx.store);
      case 'watch':
        return this.watch(request.cwd, this.batchId(request), request.interval, progress, signal);
      case 'batch':
        return this.batchAction(request, progress);
      case 'convert':
        return this.convert(request);
      default:
        throw new UsageError(`the JupyterLab extension does not run ${JSON.stringify(request.verb)}`);
    }
  }

  private batchId(request: KernelRequest): string {
    const id = request.batchId ?? '';
    if (!BATCH_ID_PATTERN.test(id))
      throw new UsageError(`${JSON.stringify(id)} is not a batch id`, request.verb);
    return id;
  }

  async submit(request: KernelRequest, progress: ReportProgress, signal: AbortSignal): Promise<unknown> {
    const { notebook, input, concurrency, follow, intervalSeconds, dryRun, sweepFile } = readSubmitOptions(
      request.values,
      request.positionals,
    );
    const notebookPath = underRoot(request.cwd, notebook, 'submit');
    const { store, model, bridge } = this.ctx;
    if (sweepFile !== undefined) {
      const path = underRoot(request.cwd, sweepFile, 'submit');
      let text: string;
      try {
        text = await store.readText(path);
      } catch (error) {
        throw new UsageError(
          `cannot read the sweep file ${sweepFile}: ${(error as Error).message}`,
          'submit',
        );
      }
      input.sweep = readSweepFile(sweepFile, text);
    }
    let notebookText: string;
    try {
      notebookText = await store.readText(notebookPath);
    } catch (error) {
      throw new UsageError(
        `cannot read the notebook ${notebook} (${notebookPath} under the Jupyter root): ${(error as Error).message}`,
        'submit',
      );
    }
    const info = model.state.info;
    const plan = await bridge.plan(
      {
        ...input,
        notebookPath,
        notebookText,
        ...(info?.user ? { user: info.user } : {}),
        ...(info?.url || info?.endpoint ? { endpoint: info.url || info.endpoint } : {}),
      },
      request.batchId ? { batchId: this.batchId(request) } : {},
    );
    if (dryRun) {
      return {
        plan: {
          dryRun: true,
          batchId: plan.batchId,
          name: plan.name,
          folder: plan.folder,
          absoluteFolder: plan.absoluteFolder,
          replicas: plan.replicaIds.length,
          image: plan.spec.image,
          resources: plan.manifest.resources,
          command: [plan.spec.cmd, ...(plan.spec.args ?? [])].join(' '),
          env: plan.manifest.env.names,
          warnings: plan.warnings,
          sessions: plan.replicas.map((r) => r.name),
          ...(plan.sweep ? { sweep: plan.sweep } : {}),
        },
      };
    }
    let reported = 0;
    const result = await bridge.launchPlan(plan, {
      concurrency,
      signal,
      onProgress: (launched, failed, total) => {
        // One update per replica would be a POST per replica: every 8th, and the last.
        const done = launched + failed;
        if (done - reported >= 8 || done === total) {
          reported = done;
          void progress({ stage: 'launching', launched, failed, total });
        }
      },
    });
    const submitted = launchedJson(plan, result, store, plan.warnings);
    await progress({ stage: 'launched', submitted });
    void model.refresh();
    if (!follow || signal.aborted) return { submitted };
    const view = await this.watch(request.cwd, result.batchId, intervalSeconds, progress, signal, 'watching');
    return { submitted, view };
  }

  /** The batch's folder: known to the panel, else found in `canfar-batches/` of the kernel's folder. */
  private async folderOf(cwd: string, batchId: string): Promise<string> {
    const known = this.ctx.bridge.view(batchId)?.folder;
    if (known) return known;
    const folders = await listBatchFolders(this.ctx.store, cwd).catch(() => [] as string[]);
    const folder = folders.find((f) => basename(f) === batchId);
    if (!folder)
      throw new Error(
        `batch ${batchId} not found in ${joinPath(cwd, 'canfar-batches')}/ (under the Jupyter root): run the command from the notebook's folder`,
      );
    return folder;
  }

  /** The batch's state now, through the panel's model (one poll shared with the panel). */
  private async view(cwd: string, batchId: string): Promise<BatchView> {
    const { bridge, model } = this.ctx;
    bridge.follow(await this.folderOf(cwd, batchId));
    await model.refresh();
    const view = bridge.view(batchId);
    if (!view) {
      throw new Error(
        `batch ${batchId} could not be read${model.state.batchProblem ? `: ${model.state.batchProblem}` : ''}`,
      );
    }
    return view;
  }

  /** Follows a batch until every replica is terminal, posting each new state; resolves to the last. */
  async watch(
    cwd: string,
    batchId: string,
    intervalSeconds: number | undefined,
    progress: ReportProgress,
    signal: AbortSignal,
    stage = 'watching',
  ): Promise<unknown> {
    const sleep = this.ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const every = Math.max(2, intervalSeconds ?? 2) * 1000;
    let last = '';
    for (;;) {
      const view = await this.view(cwd, batchId);
      const json = viewJson(view, this.ctx.store);
      const text = JSON.stringify(json);
      const stuck =
        view.counts.pullErrors > 0 &&
        view.replicas.every(
          (r) => r.state === 'pull-error' || FAILED.has(r.state) || r.state === 'completed',
        );
      if (view.done || stuck || signal.aborted) return json;
      if (text !== last) {
        last = text;
        const { cancelled } = await progress({ stage, view: json });
        if (cancelled) return json;
      }
      await sleep(every);
    }
  }

  async batches(request: KernelRequest): Promise<unknown> {
    const { store, client } = this.ctx;
    const ids = request.positionals.filter((p) => BATCH_ID_PATTERN.test(p));
    if (ids.length > 0) return viewJson(await this.view(request.cwd, ids[0]), store);
    // Beside the kernel's notebook, and beside each notebook (or in each folder) given.
    const dirs = [
      request.cwd,
      ...request.positionals.map((p) => {
        const path = underRoot(request.cwd, p, 'batches');
        return p.endsWith('.ipynb') ? dirname(path) : path;
      }),
    ];
    const found = new Set<string>();
    for (const dir of dirs)
      for (const folder of await listBatchFolders(store, dir).catch(() => [] as string[])) found.add(folder);
    const sorted = [...found].sort((a, b) => basename(b).localeCompare(basename(a)));
    const folders = request.values.all ? sorted : await undeletedBatchFolders(store, sorted);
    if (folders.length === 0) return [];
    const views = await pollBatches(client, store, folders);
    return views.map((view) => viewJson(view, store));
  }

  async batchAction(request: KernelRequest, progress: ReportProgress): Promise<unknown> {
    const [action, batchId, ...extra] = request.positionals;
    const actions = ['delete', 'prune', 'rerun', 'rerun-failed', 'rerun-combine'];
    if (!action || !actions.includes(action))
      throw new UsageError(`batch needs an action: ${actions.join(', ')}`, 'batch');
    if (!batchId || extra.length > 0) throw new UsageError(`batch ${action} takes one BATCH_ID`, 'batch');
    const { store, client, bridge, model } = this.ctx;
    const folder = await this.folderOf(request.cwd, batchId);
    if (action === 'delete') {
      const replica = integerOption('--replica', request.values.replica, 'batch', 1);
      const manifest = await readManifest(store, folder);
      if (replica !== undefined) {
        const id = await deleteReplica(client, manifest, replica);
        void model.refresh();
        return { deleted: [id], failed: [] };
      }
      // The panel's "Delete all" when the panel knows the batch (it then leaves the panel at once).
      await this.view(request.cwd, batchId).catch(() => undefined);
      const group = model.findBatch(batchId);
      if (group) {
        const failures = await model.deleteBatch(group);
        return {
          deleted: group.replicas
            .flatMap((r) => (r.session ? [r.session.id] : []))
            .filter((id) => !failures.some((f) => f.id === id)),
          failed: failures.map((f) => ({ sessionId: f.id, message: f.error })),
          recorded: failures.length === 0,
        };
      }
      const { manifest: _manifest, ...report } = await deleteAndHideBatch(client, store, folder);
      void model.refresh();
      return report;
    }
    if (action === 'prune') {
      await pollBatches(client, store, [folder]);
      const pruned = await pruneFinished(client, await pollBatches(client, store, [folder]));
      void model.refresh();
      return { pruned };
    }
    await this.view(request.cwd, batchId);
    const env = keyValueOptions('--env', request.values.env, 'batch');
    if (action === 'rerun-combine') {
      const launched = await bridge.rerunCombine(batchId, env);
      void model.refresh();
      return { batchId, ...launched };
    }
    const concurrency = integerOption('--concurrency', request.values.concurrency, 'batch', 1) ?? 32;
    const outcome = await bridge.rerun(batchId, action === 'rerun-failed', concurrency, () => undefined, env);
    const manifest = await readManifest(store, outcome.folder);
    void model.refresh();
    const result = {
      batchId: outcome.batchId,
      parent: batchId,
      name: manifest.name,
      folder: outcome.folder,
      absoluteFolder: store.absolutePath(outcome.folder),
      launched: outcome.launched,
      failed: outcome.failed,
      total: outcome.total,
      replicaIds: manifest.replicaIds,
      replicas: manifest.replicas,
    };
    await progress({ stage: 'launched', submitted: result });
    return result;
  }

  async convert(request: KernelRequest): Promise<unknown> {
    if (request.positionals.length !== 1)
      throw new UsageError(`convert takes one NOTEBOOK, got ${request.positionals.length}`, 'convert');
    const path = underRoot(request.cwd, request.positionals[0], 'convert');
    const values = request.values;
    const policy = values.policy ?? 'translate';
    if (!['translate', 'ipython', 'comment'].includes(String(policy)))
      throw new UsageError(
        `--policy must be one of translate, ipython, comment, not ${JSON.stringify(policy)}`,
        'convert',
      );
    const unknownMagics = values['unknown-magics'] ?? 'error';
    if (!['error', 'comment'].includes(String(unknownMagics)))
      throw new UsageError(
        `--unknown-magics must be one of error, comment, not ${JSON.stringify(unknownMagics)}`,
        'convert',
      );
    let notebook: unknown;
    try {
      notebook = JSON.parse(await this.ctx.store.readText(path));
    } catch (error) {
      throw new Error(`cannot read ${path} as a notebook: ${(error as Error).message}`);
    }
    const result = convertNotebook(notebook, {
      policy: policy as 'translate' | 'ipython' | 'comment',
      unknownMagics: unknownMagics as 'error' | 'comment',
      progress: values.progress === true,
      notebookPath: basename(path),
    });
    const output =
      typeof values.output === 'string' ? underRoot(request.cwd, values.output, 'convert') : undefined;
    const { script, ...rest } = result;
    if (!result.ok || output === undefined)
      return { ...rest, ...(output === undefined ? { script } : { output: null }) };
    if (values.force === true) await this.ctx.store.writeTextAtomic(output, script);
    else await this.ctx.store.writeTextExclusive(output, script);
    return { ...rest, output };
  }
}
