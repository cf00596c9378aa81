/**
 * The panel's and the submit dialog's way to src/batch: plans and submissions through the contents API
 * store, and the batch folders joined to each poll's session list by src/batch's monitor (which also
 * saves each finished replica's platform log and events into its folder).
 */
import {
  BatchMonitor,
  BatchPlanError,
  continueCanary,
  failedReplicas,
  fetchPlatformInfo,
  isBatchDeleted,
  listBatchFolders,
  logPath,
  MANIFEST_FILE,
  markBatchDeleted,
  planBatch,
  readManifest,
  rerunCombine,
  rerunInput,
  splitError,
  submitBatch,
  UNSUCCESSFUL_STATES,
} from '../batch';
import type {
  BatchInput,
  BatchManifest,
  FailureSummary,
  BatchPlan,
  BatchStore,
  BatchView,
  PlanOptions,
  PlatformInfo,
  RerunCombineResult,
  SubmitResult,
} from '../batch';
import { readParameters } from '../convert';
import { STATUS_OF_STATE } from './grouping';
import { flexibleResources } from '../skaha';
import type { Session, SkahaClient, SkahaContext } from '../skaha';
import { basename, joinPath, notebookDirOf } from '../batch';
import type {
  BatchReplicaSummary,
  BatchSummary,
  ICanfarBatches,
  NotebookParameterInfo,
  PlanPreview,
  PreviewResult,
  ReplicaFailure,
  SubmitOutcome,
  SubmitRequest,
} from './tokens';

export interface BatchBridgeOptions {
  client: SkahaClient;
  store: BatchStore;
  /** Folders of batches this browser submitted (remembered across reloads by the plugin). */
  knownFolders?: () => Promise<string[]>;
  remember?: (folder: string) => Promise<void>;
  /** Server-relative folders whose `canfar-batches/` are shown too (the file browser's current folder). */
  scanDirs?: () => string[];
  /** At most this many batches per scanned folder, newest first (each costs reads per poll). */
  maxPerDir?: number;
}

export class BatchBridge implements ICanfarBatches {
  constructor(private readonly options: BatchBridgeOptions) {
    const { client, store } = options;
    // The monitor lists sessions itself; hand it the list the panel's poll already made (one call per poll).
    const shared = Object.create(client) as SkahaClient;
    shared.list = async () => this._sessions.filter((s) => s.type === 'headless');
    this._monitor = new BatchMonitor({ client: shared, store });
  }

  /** The batches joined with the sessions of this poll (for CanfarModel's `batches` source). */
  async batches(sessions: Session[]): Promise<BatchSummary[]> {
    this._sessions = sessions;
    await this._discover();
    let views = await this._monitor.poll();
    // A batch waiting for its canary: the panel is one of its watchers (an exclusive file in the batch
    // folder makes sure that only one watcher launches the rest).
    if (views.some((view) => view.phase === 'canary')) {
      let continued = false;
      for (const view of views.filter((v) => v.phase === 'canary' && !this._cannotContinue.has(v.batchId))) {
        const step = await continueCanary(this.options.client, this.options.store, view, {
          ...(this._plans.has(view.batchId) ? { plan: this._plans.get(view.batchId) } : {}),
        }).catch((error: unknown) => ({ action: 'unable' as const, message: String(error) }));
        if (step.action === 'launched' || step.action === 'stopped') {
          this._plans.delete(view.batchId);
          continued = true;
        }
        // Not from here (a secret env value only its submitter holds): not planned again at every poll.
        if (step.action === 'unable') this._cannotContinue.add(view.batchId);
      }
      if (continued) views = await this._monitor.poll();
    }
    for (const view of views) {
      // Deleted while this poll was under way: it stays hidden.
      if (this._deleted.has(view.batchId)) continue;
      this._views.set(view.batchId, view);
      // A settled batch whose logs are saved changes no more: stop reading its files every poll.
      if (
        view.done &&
        view.replicas.every((r) => r.cleanedUp || r.sessionStatus === undefined || r.state === 'cancelled')
      ) {
        this._monitor.remove(view.batchId);
      }
    }
    // Deleted batches go along, marked, so that their sessions (Terminating for a moment) are not
    // shown as a batch of their own, grouped by name.
    return [...[...this._views.values()].map(toSummary), ...this._deleted.values()];
  }

  /**
   * Records in the batch's batch.json that the user deleted it (the caller has deleted its sessions),
   * and hides it from now on, here and after a reload. Its folder, logs and outputs stay.
   */
  async markDeleted(batchId: string): Promise<void> {
    const view = this._views.get(batchId);
    if (!view) throw new Error(`batch ${batchId} is not known to the panel (its folder could not be read)`);
    // The monitor's own writes to batch.json finish first, so that none of them undoes the mark.
    await this._monitor.release(batchId);
    const manifest = await markBatchDeleted(this.options.store, view.folder);
    this._views.delete(batchId);
    this._deleted.set(batchId, deletedSummary(view.folder, manifest));
  }

  /** Whether the user deleted this batch (its batch.json says so): the panel no longer shows it. */
  isDeleted(batchId: string): boolean {
    return this._deleted.has(batchId);
  }

  /** The batch a panel group stands for (its key is the batch id). */
  view(batchId: string): BatchView | undefined {
    return this._views.get(batchId);
  }

  /** The log run.sh saved for the replica that ran as this session, when its batch is known. */
  async capturedLog(sessionId: string): Promise<string | undefined> {
    for (const view of this._views.values()) {
      const replica = view.replicas.find((r) => r.sessionId === sessionId);
      if (!replica) continue;
      for (const path of [
        logPath(view.folder, replica.replica),
        joinPath(view.folder, 'logs', `replica-${replica.replica}.platform.log`),
      ]) {
        // Checked first: a missing file would be a 404 in the browser console.
        if (await this.options.store.exists(path).catch(() => false)) {
          return this.options.store.readText(path);
        }
      }
    }
    return undefined;
  }

  parameters(notebook: unknown): NotebookParameterInfo[] {
    return readParameters(notebook).map((p) => ({ name: p.name, type: p.type, default: p.default }));
  }

  async preview(request: SubmitRequest): Promise<PreviewResult> {
    try {
      const plan = await planBatch(
        toInput(request),
        platformOf(request),
        this.options.store,
        planOptions(request),
      );
      return { plan: toPreview(plan, request.platform.context) };
    } catch (error) {
      if (error instanceof BatchPlanError) return { problems: error.problems.map(toFieldProblem) };
      throw error;
    }
  }

  async submit(request: SubmitRequest, progress: (text: string) => void): Promise<SubmitOutcome> {
    const plan = await planBatch(
      toInput(request),
      platformOf(request),
      this.options.store,
      planOptions(request),
    );
    return this._launch(plan, request.settings.maxConcurrentSubmissions, progress);
  }

  /** Runs a batch again (all replicas, or only those that failed), with its own script. */
  async rerun(
    batchId: string,
    onlyFailed: boolean,
    concurrency: number,
    progress: (text: string) => void,
    /** Env values to give again (secret ones are not stored in batch.json). */
    env?: Record<string, string>,
  ): Promise<SubmitOutcome> {
    const view = this._views.get(batchId);
    if (!view) throw new Error(`batch ${batchId} is not known to the panel (its folder could not be read)`);
    const replicaIds = onlyFailed ? failedReplicas(view) : undefined;
    if (onlyFailed && replicaIds?.length === 0)
      throw new Error(`batch ${batchId} has no failed replica to run again`);
    // Re-run failed: the same batch and folder (each replica's next attempt). Re-run: a new batch, with a
    // name of its own (the parent's sessions may still be listed under theirs), recognisably related.
    const name = `${view.name.slice(0, 50)}-r${Date.now().toString(36).slice(-3)}`;
    const input = await rerunInput(this.options.store, view.folder, {
      ...(onlyFailed ? { inPlace: true } : { name }),
      ...(replicaIds ? { replicaIds } : {}),
      ...(env ? { env } : {}),
    });
    const platform: PlatformInfo = {
      context: await this.options.client.context(),
      repositories: await this.options.client.repositories(),
      sessions: this._sessions,
    };
    const plan = await planBatch(input, platform, this.options.store);
    return this._launch(plan, concurrency, progress);
  }

  /**
   * Runs the combine step of a batch again (one session of its own), once every replica completed and
   * the combine failed; the batch is then followed again until the combine ends.
   */
  async rerunCombine(batchId: string, env?: Record<string, string>): Promise<RerunCombineResult> {
    const view = this._views.get(batchId);
    if (!view) throw new Error(`batch ${batchId} is not known to the panel (its folder could not be read)`);
    const result = await rerunCombine(this.options.client, this.options.store, view, env ? { env } : {});
    // Followed afresh: a settled batch may have been dropped from the polls.
    this._monitor.remove(batchId);
    await this._monitor.add(view.folder).catch(() => undefined);
    return result;
  }

  /**
   * Plans a batch against the platform as it is now (context, registries, images, sessions): what the
   * `%canfar submit` magic asks for, with the batch id the kernel chose.
   */
  async plan(input: BatchInput, options: PlanOptions = {}, signal?: AbortSignal): Promise<BatchPlan> {
    return planBatch(
      input,
      await fetchPlatformInfo(this.options.client, signal),
      this.options.store,
      options,
    );
  }

  /**
   * Launches a plan as the dialog's submissions are: the batch is remembered and followed by the panel
   * from its first poll on. `onProgress` sees each replica's outcome.
   */
  async launchPlan(
    plan: BatchPlan,
    options: {
      concurrency: number;
      onProgress?: (launched: number, failed: number, total: number, failure?: string) => void;
      signal?: AbortSignal;
    },
  ): Promise<SubmitResult> {
    const result = await submitBatch(plan, {
      client: this.options.client,
      store: this.options.store,
      concurrency: options.concurrency,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) =>
        options.onProgress?.(
          p.launched,
          p.failed,
          p.total,
          p.launch.state === 'failed' ? `replica ${p.replica}: ${p.launch.message}` : undefined,
        ),
    });
    await this.options.remember?.(result.folder);
    this._known.add(result.folder);
    // A canary's plan is kept: it holds the env values batch.json does not, for launching the rest.
    if (plan.manifest.canary?.state === 'waiting') this._plans.set(result.batchId, plan);
    // Followed afresh (a settled batch may have been dropped from the polls; re-run failed revives it).
    if (plan.inPlace) this._monitor.remove(result.batchId);
    await this._monitor.add(result.folder, result.manifest).catch(() => undefined);
    return result;
  }

  /**
   * Follows a batch folder from the next poll on (a notebook output shows that batch). Asked again, it
   * reads the folder again: a folder asked for before its batch.json was written is found once it is.
   */
  follow(folder: string): void {
    this._known.add(folder);
    const batchId = basename(folder);
    if (!this._views.has(batchId) && !this._deleted.has(batchId)) this._added.delete(folder);
  }

  private async _launch(
    plan: BatchPlan,
    concurrency: number,
    progress: (text: string) => void,
  ): Promise<SubmitOutcome> {
    const failures: string[] = [];
    const result = await this.launchPlan(plan, {
      concurrency,
      onProgress: (launched, failed, total, failure) => {
        if (failure) failures.push(failure);
        progress(`${launched}/${total} started${failed ? `, ${failed} failed` : ''}`);
      },
    });
    return {
      batchId: result.batchId,
      folder: result.folder,
      launched: result.launched,
      failed: result.failed,
      total: plan.manifest.canary?.state === 'waiting' ? 1 : plan.replicaIds.length,
      failures,
    };
  }

  private async _discover(): Promise<void> {
    const { store } = this.options;
    if (!this._loadedKnown && this.options.knownFolders) {
      this._loadedKnown = true;
      for (const folder of await this.options.knownFolders().catch(() => [])) this._known.add(folder);
    }
    const folders = new Set(this._known);
    const dirs = new Set([
      ...(this.options.scanDirs?.() ?? []),
      ...[...this._known].map((f) => notebookDirOf(f)),
    ]);
    for (const dir of dirs) {
      const found = await listBatchFolders(store, dir).catch(() => [] as string[]);
      for (const folder of found.slice(0, this.options.maxPerDir ?? 20)) folders.add(folder);
    }
    for (const folder of folders) {
      if (this._added.has(folder)) continue;
      // A folder named before it is written (a kernel's submission chose the batch id up front) is read
      // once its batch.json exists; asking before would log a 404 in the browser console at every poll.
      if (!(await this._written(folder))) continue;
      this._added.add(folder);
      try {
        const manifest = await readManifest(store, folder);
        // A deleted batch is not followed (no reads per poll), only remembered as hidden.
        if (isBatchDeleted(manifest)) this._deleted.set(manifest.batchId, deletedSummary(folder, manifest));
        else await this._monitor.add(folder, manifest);
      } catch {
        // Not a batch folder (or unreadable): ignored, the sessions still show grouped by name.
      }
    }
  }

  /** Whether `folder/batch.json` exists, asked level by level from the notebook's folder (listings only). */
  private async _written(folder: string): Promise<boolean> {
    const { store } = this.options;
    const levels = [joinPath(folder, '..'), folder, joinPath(folder, MANIFEST_FILE)];
    for (const path of levels) if (!(await store.exists(path).catch(() => false))) return false;
    return true;
  }

  private _monitor: BatchMonitor;
  /** Plans of canary batches submitted here (they hold secret env values batch.json does not). */
  private _plans = new Map<string, BatchPlan>();
  /** Canary batches whose rest this panel cannot launch (see continueCanary's 'unable'). */
  private _cannotContinue = new Set<string>();
  private _sessions: Session[] = [];
  private _views = new Map<string, BatchView>();
  private _deleted = new Map<string, BatchSummary>();
  private _known = new Set<string>();
  private _added = new Set<string>();
  private _loadedKnown = false;
}

function toInput(request: SubmitRequest): BatchInput {
  const { value } = request;
  return {
    notebookPath: request.notebookPath,
    notebookText: request.notebookText,
    replicas: value.replicas,
    image: value.image,
    name: value.name,
    ...(value.cores !== undefined ? { cores: value.cores } : {}),
    ...(value.ram !== undefined ? { ram: value.ram } : {}),
    ...(value.gpus !== undefined ? { gpus: value.gpus } : {}),
    env: value.env,
    params: value.params,
    ...(value.sweep && Object.keys(value.sweep).length > 0 ? { sweep: value.sweep } : {}),
    ...(value.canary ? { canary: true } : {}),
    ...(value.expect && value.expect.length > 0 ? { expect: value.expect } : {}),
    policy: value.policy,
    ...(request.user ? { user: request.user } : {}),
    ...(request.endpoint ? { endpoint: request.endpoint } : {}),
  };
}

/** The dialog's batch id, when it chose one (its proposed name ends with the id's last 4 characters). */
function planOptions(request: SubmitRequest): PlanOptions {
  return request.batchId ? { batchId: request.batchId } : {};
}

function platformOf(request: SubmitRequest): PlatformInfo {
  const { platform } = request;
  return {
    ...(platform.context ? { context: platform.context } : {}),
    ...(platform.repositories ? { repositories: platform.repositories } : {}),
    ...(platform.images ? { images: platform.images } : {}),
    ...(request.sessions ? { sessions: request.sessions } : {}),
  };
}

function toPreview(plan: BatchPlan, context?: SkahaContext): PlanPreview {
  const { spec } = plan;
  const flexible = flexibleResources(context);
  const resources =
    spec.cores === undefined && spec.ram === undefined
      ? `flexible (${flexible.requestCores} core / ${flexible.requestRamGB} GB requested, up to ${flexible.limitCores} / ${flexible.limitRamGB})`
      : `${spec.cores ?? '?'} cores, ${spec.ram ?? '?'} GB`;
  const sweep = plan.sweep;
  const edge = 3;
  const shown = sweep
    ? sweep.sets.length <= edge * 2
      ? sweep.sets.map((_, k) => k + 1)
      : [...[1, 2, 3], ...[2, 1, 0].map((k) => sweep.sets.length - k)]
    : [];
  return {
    names: plan.replicas.map((r) => r.name),
    ...(sweep
      ? {
          sweep: {
            parameters: sweep.parameters,
            setCount: sweep.sets.length,
            shards: sweep.shards,
            sets: shown.map((set) => ({
              set,
              values: sweep.sets[set - 1],
              sessions: plan.replicas.filter((r) => r.set === set).map((r) => r.name),
            })),
          },
        }
      : {}),
    ...(plan.manifest.canary ? { canary: true } : {}),
    ...(plan.conversion.combineCells ? { combineCells: plan.conversion.combineCells.map((c) => c + 1) } : {}),
    folder: plan.folder,
    absoluteFolder: plan.absoluteFolder,
    resources: spec.gpus ? `${resources}, ${spec.gpus} GPU` : resources,
    image: spec.image,
    warnings: plan.warnings,
  };
}

/** A planner problem on the form's field (`env FOO` -> env, `param x` -> param:x, others -> plan). */
function toFieldProblem(problem: { field: string; value?: unknown; rule: string; hint?: string }): {
  field: string;
  message: string;
} {
  const [head, rest] = problem.field.split(' ', 2);
  // A parameter's problem (one value, or its sweep list) belongs under that parameter's field.
  const field =
    (head === 'param' || head === 'sweep') && rest
      ? `param:${rest}`
      : ['name', 'image', 'cores', 'ram', 'gpus', 'replicas', 'env', 'expect', 'sweep'].includes(head)
        ? head
        : 'plan';
  const value = problem.value === undefined ? '' : ` ${JSON.stringify(problem.value)}`;
  const subject =
    field === 'plan' || head === 'env' ? `${problem.field}${value}` : `${value.trim() || problem.field}`;
  return { field, message: `${subject}: ${problem.rule}${problem.hint ? ` (${problem.hint})` : ''}` };
}

/** A deleted batch: enough for the grouping to recognise (and hide) its sessions. */
function deletedSummary(folder: string, manifest: BatchManifest): BatchSummary {
  return {
    id: manifest.batchId,
    name: manifest.name,
    total: manifest.replicas.length,
    replicas: manifest.replicas.map((r) => ({
      index: r.replica,
      name: r.name,
      ...(r.launch?.state === 'launched' ? { sessionId: r.launch.sessionId } : {}),
    })),
    folder,
    createdAt: manifest.submittedAt,
    ...(manifest.deletedAt ? { deletedAt: manifest.deletedAt } : {}),
  };
}

function toSummary(view: BatchView): BatchSummary {
  const replicas: BatchReplicaSummary[] = view.replicas.map((r) => ({
    index: r.replica,
    name: r.name,
    ...(r.sessionId ? { sessionId: r.sessionId } : {}),
    // While the platform says Terminating, say so rather than the monitor's "running".
    status: r.sessionStatus === 'Terminating' ? 'Terminating' : STATUS_OF_STATE[r.state],
    state: r.state,
    ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
    ...(r.start ? { start: r.start } : {}),
    ...(r.end ? { end: r.end } : {}),
    // Only once ended: a running replica's duration would change at every poll.
    ...(r.end && r.durationSeconds !== undefined ? { durationSeconds: r.durationSeconds } : {}),
    ...(r.message || r.failure?.error
      ? {
          message: [r.message, r.failure?.error && `${r.failure.cellLabel ?? ''} ${r.failure.error}`.trim()]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
    cleanedUp: r.cleanedUp,
    ...(r.attempt !== undefined ? { attempt: r.attempt } : {}),
    ...(r.set !== undefined ? { set: r.set, shard: r.shard, params: r.params ?? {} } : {}),
    ...(r.failure || (r.message && UNSUCCESSFUL_STATES.has(r.state))
      ? {
          failure: {
            ...(r.failure ? toFailure(r.failure) : {}),
            ...(r.message ? { message: r.message } : {}),
          },
        }
      : {}),
  }));
  const manifest = view.manifest;
  return {
    id: view.batchId,
    name: view.name,
    // k/N counts this batch's replicas: a re-run of 2 failed replicas of 50 is a batch of 2.
    total: view.replicas.length,
    replicas,
    folder: view.folder,
    createdAt: manifest.submittedAt,
    script: joinPath(view.folder, manifest.script.file),
    phase: view.phase,
    ...(view.combine ? { combine: view.combine } : {}),
    ...(manifest.sweep ? { sweep: manifest.sweep } : {}),
    resources: manifest.resources,
    counts: view.counts,
  };
}

/** The failing cell and the exception, as the panel groups failures by them. */
function toFailure(failure: FailureSummary): ReplicaFailure {
  return {
    ...(failure.cell !== undefined ? { cell: failure.cell } : {}),
    ...(failure.error ? splitError(failure.error) : {}),
  };
}
