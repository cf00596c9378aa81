/**
 * `application/vnd.canfar.batch+json` in a notebook output: a batch's live status (the panel's stacked bar
 * with its counts, replica grid and failures grouped by signature: `BatchPicture`) that keeps following the
 * batch while the notebook is open, also after a reload, without re-running the cell. The output holds the
 * batch id and folder (and a snapshot, shown until the first poll); the state comes from the extension's
 * model, the one the panel polls, so an output costs no request of its own: it only asks the model to keep
 * polling while it is on the page.
 */
import { PageConfig } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';
import { BATCH_MIME, readBatchOutput, splitError } from '../../batch';
import type { BatchOutputData, BatchOutputReplica } from '../../batch';
import type { BatchBridge } from '../batch-bridge';
import { batchGroupOf, isFinished, isReplicaState, summarize } from '../grouping';
import type { BatchGroup, BatchReplicaSummary, ReplicaRow } from '../grouping';
import type { CanfarModel } from '../model';
import type { SessionRef } from '../tokens';
import { BatchPicture, statusLabel } from '../views';

export interface OutputDeps {
  model: CanfarModel;
  /** Absent when the batches plugin is not loaded: the output then shows its snapshot only. */
  bridge: BatchBridge | null;
  trans?: TranslationBundle;
  /** The Jupyter server's root as an absolute path (page config `serverRoot`). */
  serverRoot?: string;
  /** Opens a replica's log (the log viewer); without it the picture offers no log. */
  openLog?: (session: SessionRef) => void;
}

/** Where a failed replica stopped, as the panel groups failures (cell, exception, message). */
function replicaFailure(r: BatchOutputReplica): BatchReplicaSummary['failure'] {
  const failure = r.failure;
  if (!failure && !r.message) return undefined;
  return {
    ...(failure?.cell !== undefined ? { cell: failure.cell } : {}),
    ...(failure?.error ? splitError(failure.error) : {}),
    ...(r.message && !failure?.error ? { message: r.message } : {}),
  };
}

/**
 * A snapshot as the group the panel would draw (before the first poll, or without the batches plugin): the
 * replicas with the monitor's states, through the panel's own grouping. A state this version does not know
 * (a newer producer) shows as unknown.
 */
export function groupFromOutput(data: BatchOutputData): BatchGroup {
  const replicas: BatchReplicaSummary[] = (data.replicas ?? []).map((r) => {
    const failure = ['failed', 'lost', 'output-missing', 'launch-failed'].includes(r.state)
      ? replicaFailure(r)
      : undefined;
    return {
      index: r.replica,
      name: r.name ?? `replica ${r.replica}`,
      ...(r.sessionId ? { sessionId: r.sessionId } : {}),
      ...(isReplicaState(r.state) ? { state: r.state } : { status: 'Unknown' as const }),
      ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
      ...(r.message ? { message: r.message } : {}),
      ...(failure ? { failure } : {}),
      ...(r.attempt !== undefined ? { attempt: r.attempt } : {}),
    };
  });
  return batchGroupOf({
    id: data.batchId,
    name: data.name ?? data.batchId,
    total: data.counts?.total ?? (replicas.length || data.total || 0),
    replicas,
    ...(data.counts ? { counts: data.counts } : {}),
    ...(data.combine ? { combine: data.combine } : {}),
  });
}

/** The folder relative to the server root: as given, or an absolute path under the root made relative. */
export function relativeFolder(data: BatchOutputData, serverRoot: string): string | undefined {
  if (data.folder !== undefined && !data.folder.startsWith('/')) return data.folder.replace(/\/+$/, '');
  const absolute = data.absoluteFolder ?? data.folder;
  if (!absolute || !serverRoot) return undefined;
  const root = serverRoot.replace(/\/+$/, '');
  if (absolute === root) return '';
  return absolute.startsWith(`${root}/`) ? absolute.slice(root.length + 1) : undefined;
}

let outputCounter = 0;
/** Polls of the model without the batch before an output stops asking the model to poll for it. */
const MAX_MISSES = 10;

export class BatchOutputWidget extends Panel implements IRenderMime.IRenderer {
  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly deps: OutputDeps,
  ) {
    super();
    this.addClass('jp-CanfarOutput');
    this.addClass('jp-CanfarBatchOutput');
    this._trans = deps.trans ?? nullTranslator.load('jupyterlab_canfar');
    this._viewId = `canfar-output-${++outputCounter}`;
    const openLog = deps.openLog;
    const open = openLog
      ? (row: ReplicaRow) => {
          const id = row.session?.id ?? row.sessionId;
          if (id) openLog({ id, name: row.name });
        }
      : undefined;
    // The panel's picture of a batch: stacked bar with its counts, replica grid, failures by signature.
    this._picture = new BatchPicture({
      trans: this._trans,
      ...(open ? { onOpenReplica: open, onOpenLog: open } : {}),
    });
    this.addWidget(this._head);
    this.addWidget(this._picture);
    this.addWidget(this._foot);
    deps.model.stateChanged.connect(this._onModel, this);
  }

  /** The data this output shows (the kernel may replace it while the cell runs: update_display_data). */
  get data(): BatchOutputData | undefined {
    return this._data;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this._data = readBatchOutput(model.data[this.options.mimeType]);
    this._folder = this._data
      ? relativeFolder(this._data, this.deps.serverRoot ?? PageConfig.getOption('serverRoot'))
      : undefined;
    this._follow();
    this._render();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.deps.model.setVisible(this._viewId, false);
    this.deps.model.stateChanged.disconnect(this._onModel, this);
    super.dispose();
  }

  protected override onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    // On the page: the model keeps polling (as it does while the panel is visible).
    if (this._live()) this.deps.model.setVisible(this._viewId, true);
  }

  protected override onBeforeDetach(msg: Message): void {
    this.deps.model.setVisible(this._viewId, false);
    super.onBeforeDetach(msg);
  }

  /** Whether this output follows its batch (not when it was never launched, or without the batches plugin). */
  private _live(): boolean {
    return Boolean(
      this._data && this._data.phase !== 'failed' && this.deps.bridge && this._folder !== undefined,
    );
  }

  private _follow(): void {
    if (!this._live() || !this._data) return;
    // Not known to the panel yet (another tab submitted it, or after a reload): read its folder.
    if (!this.deps.model.findBatch(this._data.batchId)) this.deps.bridge?.follow(this._folder as string);
    if (this.isAttached) this.deps.model.setVisible(this._viewId, true);
  }

  private _onModel(): void {
    if (!this._data || !this._live()) return;
    const batchId = this._data.batchId;
    const group = this.deps.model.findBatch(batchId);
    if (!group) {
      if (this.deps.bridge?.isDeleted(batchId)) this._stop('deleted');
      else if (++this._misses >= MAX_MISSES && this.deps.model.state.phase === 'ready')
        this._stop('not found');
      else this._follow();
      return;
    }
    this._misses = 0;
    // The model shares an unchanged batch between polls: nothing to draw then.
    if (group === this._group && this._stopped === undefined) return;
    this._stopped = undefined;
    this._group = group;
    this._render();
    // A finished batch (canary, replicas and combine over) changes no more: the model may stand by again.
    if (isFinished(group)) this.deps.model.setVisible(this._viewId, false);
  }

  /** Gives up following (the batch was deleted, or its folder cannot be read): the snapshot stays. */
  private _stop(why: 'deleted' | 'not found'): void {
    if (this._stopped !== why) {
      this._stopped = why;
      this._render();
    }
    this.deps.model.setVisible(this._viewId, false);
    // A later poll of the panel may still find it (another tab launched it late): keep asking the bridge.
    if (why === 'not found' && this._folder !== undefined) this.deps.bridge?.follow(this._folder);
  }

  private _render(): void {
    const trans = this._trans;
    const data = this._data;
    const head = this._head.node;
    const foot = this._foot.node;
    head.textContent = '';
    foot.textContent = '';
    if (!data) {
      delete this.node.dataset.canfarBatch;
      this._picture.group = undefined;
      head.appendChild(text('p', 'jp-CanfarOutput-error', trans.__('This CANFAR output has no batch id.')));
      return;
    }
    this.node.dataset.canfarBatch = data.batchId;
    const group = this._group ?? groupFromOutput(data);
    const live = Boolean(this._group);
    const finished = live && isFinished(group);
    this.node.dataset.phase = live ? (finished ? 'done' : 'running') : data.phase;

    const header = text('div', 'jp-CanfarOutput-header');
    header.appendChild(text('span', 'jp-CanfarOutput-title', trans.__('Batch %1', group.name)));
    if (data.notebook) header.appendChild(text('span', 'jp-CanfarOutput-notebook', data.notebook));
    const summary = text('span', 'jp-CanfarOutput-summary', this._summary(data, group, live));
    summary.dataset.canfar = 'summary';
    header.appendChild(summary);
    head.appendChild(header);

    if (data.phase === 'failed' && !live) {
      const error = text('div', 'jp-CanfarOutput-error');
      error.dataset.canfar = 'error';
      error.appendChild(text('p', '', data.error?.message.split('\n')[0] ?? trans.__('Not launched.')));
      const problems = data.error?.problems ?? [];
      if (problems.length) {
        const list = text('ul', '');
        for (const problem of problems) list.appendChild(text('li', '', problem));
        error.appendChild(list);
      }
      head.appendChild(error);
      this._picture.group = undefined;
      this._foot.hide();
      return;
    }
    this._picture.group = group.replicas.length > 0 || group.total > 0 ? group : undefined;
    this._foot.show();
    foot.appendChild(text('span', '', data.batchId));
    if (this._folder) foot.appendChild(text('span', '', this._folder));
    const state = live
      ? finished
        ? trans.__('final state')
        : trans.__('live')
      : this._stopped === 'deleted'
        ? trans.__('deleted (snapshot of %1)', data.at)
        : this._stopped === 'not found'
          ? trans.__('batch folder not found (snapshot of %1)', data.at)
          : this._live()
            ? trans.__('waiting for the first poll')
            : trans.__('snapshot of %1', data.at);
    const badge = text('span', 'jp-CanfarOutput-live', state);
    badge.dataset.canfar = 'live';
    foot.appendChild(badge);
  }

  private _summary(data: BatchOutputData, group: BatchGroup, live: boolean): string {
    const trans = this._trans;
    if (!live && data.phase === 'submitting') {
      return data.launched !== undefined && data.total
        ? trans.__('Submitting… %1/%2 launched', data.launched, data.total)
        : trans.__('Submitting…');
    }
    if (!live && data.phase === 'failed') return trans.__('Not launched');
    const replicas =
      summarize(group, (status) => statusLabel(trans, status)) || trans.__('%1 replicas', group.total);
    const combine = group.manifest?.combine;
    if (!combine) return replicas;
    const exit = combine.exitCode !== undefined ? ` (${trans.__('exit %1', combine.exitCode)})` : '';
    return `${replicas} · ${trans.__('combine %1', combine.state)}${exit}`;
  }

  private _data?: BatchOutputData;
  private _misses = 0;
  private _stopped?: 'deleted' | 'not found';
  private _folder?: string;
  private _group?: BatchGroup;
  private _trans: TranslationBundle;
  private readonly _viewId: string;
  private readonly _head = new Widget();
  private readonly _foot = new Widget({ node: text('div', 'jp-CanfarOutput-footer') });
  private readonly _picture: BatchPicture;
}

function text<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, content?: string) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (content !== undefined) node.textContent = content;
  return node;
}

/** The factory the outputs plugin adds to the notebooks' rendermime registries. */
export function batchRendererFactory(deps: OutputDeps): IRenderMime.IRendererFactory {
  return {
    // Only text content and lumino widgets: nothing of the data is interpreted as HTML or code.
    safe: true,
    mimeTypes: [BATCH_MIME],
    // Preferred to the text/html snapshot beside it (rank 50).
    defaultRank: 20,
    createRenderer: (options) => new BatchOutputWidget(options, deps),
  };
}
