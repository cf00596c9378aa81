/**
 * `application/vnd.canfar.sessions+json` in a notebook output (`%canfar ps`, `canfar.sessions()`): the
 * sessions as listed when the cell ran, and beside each its status now when the panel's model knows it
 * (a session that ended or was deleted since says so), without re-running the cell.
 */
import type { IRenderMime } from '@jupyterlab/rendermime';
import { nullTranslator } from '@jupyterlab/translation';
import type { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { SESSIONS_MIME } from '../../batch';
import type { SessionsOutputData } from '../../batch';
import type { CanfarModel } from '../model';

const COLUMNS: { header: string; key: string }[] = [
  { header: 'ID', key: 'id' },
  { header: 'NAME', key: 'name' },
  { header: 'KIND', key: 'type' },
  { header: 'STATUS', key: 'status' },
  { header: 'STARTED', key: 'startTime' },
  { header: 'IMAGE', key: 'image' },
];

function cell(value: unknown): string {
  if (value === undefined || value === null || value === '') return '-';
  return String(value).replace(/\.000Z$/, 'Z');
}

export class SessionsOutputWidget extends Widget implements IRenderMime.IRenderer {
  constructor(
    private readonly options: IRenderMime.IRendererOptions,
    private readonly model: CanfarModel,
    trans?: TranslationBundle,
  ) {
    super();
    this.addClass('jp-CanfarOutput');
    this.addClass('jp-CanfarSessionsOutput');
    this._trans = trans ?? nullTranslator.load('jupyterlab_canfar');
    model.stateChanged.connect(this._render, this);
  }

  async renderModel(mimeModel: IRenderMime.IMimeModel): Promise<void> {
    const data = mimeModel.data[this.options.mimeType] as Partial<SessionsOutputData> | undefined;
    this._data = {
      version: 1,
      sessions: Array.isArray(data?.sessions) ? data.sessions : [],
      listedAt: typeof data?.listedAt === 'string' ? data.listedAt : '',
    };
    this._render();
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this.model.stateChanged.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const trans = this._trans;
    const sessions = this._data?.sessions ?? [];
    this.node.textContent = '';
    const caption = document.createElement('div');
    caption.className = 'jp-CanfarOutput-header';
    caption.textContent = trans._n(
      '%1 session, listed %2',
      '%1 sessions, listed %2',
      sessions.length,
      cell(this._data?.listedAt),
    );
    this.node.appendChild(caption);
    if (sessions.length === 0) return;
    const known = this.model.state.phase === 'ready';
    const table = document.createElement('table');
    table.className = 'jp-CanfarOutput-table';
    table.dataset.canfar = 'sessions';
    const head = table.createTHead().insertRow();
    for (const column of [...COLUMNS, ...(known ? [{ header: trans.__('NOW'), key: '' }] : [])]) {
      const th = document.createElement('th');
      th.textContent = column.header;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const session of sessions) {
      const row = body.insertRow();
      for (const column of COLUMNS) row.insertCell().textContent = cell(session[column.key]);
      if (known) {
        const now = this.model.findSession(String(session.id));
        const td = row.insertCell();
        td.dataset.canfar = 'now';
        td.textContent = now ? now.status : trans.__('gone');
      }
    }
    this.node.appendChild(table);
  }

  private _data?: SessionsOutputData;
  private _trans: TranslationBundle;
}

export function sessionsRendererFactory(
  model: CanfarModel,
  trans?: TranslationBundle,
): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [SESSIONS_MIME],
    defaultRank: 20,
    createRenderer: (options) => new SessionsOutputWidget(options, model, trans),
  };
}
