/**
 * The CANFAR side panel: a `ReactWidget` whose content (src/lab/views) is driven by the model. Keyed,
 * memoised rendering on the model's structurally shared state: a poll that finds nothing new touches no
 * DOM node, and one that does re-renders only what changed, so focus, scroll position, selection and
 * expanded batches survive polls. The view state (expanded batches, filters, pages) lives in a store of
 * its own and survives re-mounts.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { canfarIcon } from './icons';
import type { BatchGroup, ICanfarModel, SessionRef } from './tokens';
import { CanfarPanelView } from './views/panel-view';
import type { PanelViewActions } from './views/panel-view';
import { Clock, PanelUiStore } from './views/state';

export type { SessionRef } from './tokens';
export { statusLabel } from './views/labels';

/** What the panel's buttons do; the plugin provides them (dialogs, log viewer, src/batch). */
export interface PanelActions {
  openLogs(session: SessionRef, tab: 'log' | 'events'): void;
  /** Asks for confirmation (per settings) and deletes. */
  deleteSession(session: SessionRef): Promise<void>;
  deleteBatch(group: BatchGroup): Promise<void>;
  /** Batch actions; absent until src/batch offers them (the buttons are then not shown). */
  rerun?(group: BatchGroup, onlyFailed: boolean): Promise<void>;
  /** Runs the combine step again, after it failed. */
  rerunCombine?(group: BatchGroup): Promise<void>;
  openScript?(group: BatchGroup): void;
  openFolder?(group: BatchGroup): void;
  /** Opens a file by its path from the server root (the combine step's log). */
  openFile?(path: string): void;
  submitNotebook?(): void;
}

export interface CanfarPanelOptions {
  model: ICanfarModel;
  actions: PanelActions;
  trans: TranslationBundle;
  now?: () => number;
  /** Milliseconds between two clock ticks (running times, the time left, the timeline's edge). */
  clockPeriod?: number;
}

export class CanfarPanel extends ReactWidget {
  constructor(options: CanfarPanelOptions) {
    super();
    this._model = options.model;
    this._trans = options.trans;
    this._clock = new Clock(options.now, options.clockPeriod);
    const a = options.actions;
    // One object for the panel's lifetime: the memoised views keep their props across renders.
    this._actions = {
      openLogs: (session, tab) => a.openLogs(session, tab),
      deleteSession: (session) => void a.deleteSession(session),
      deleteBatch: (group) => void a.deleteBatch(group),
      ...(a.rerun
        ? { rerun: (group: BatchGroup, onlyFailed: boolean) => void a.rerun?.(group, onlyFailed) }
        : {}),
      ...(a.rerunCombine ? { rerunCombine: (group: BatchGroup) => void a.rerunCombine?.(group) } : {}),
      ...(a.openScript ? { openScript: (group: BatchGroup) => a.openScript?.(group) } : {}),
      ...(a.openFolder ? { openFolder: (group: BatchGroup) => a.openFolder?.(group) } : {}),
      ...(a.openFile ? { openFile: (path: string) => a.openFile?.(path) } : {}),
      ...(a.submitNotebook ? { submitNotebook: () => a.submitNotebook?.() } : {}),
    };
    this.id = 'jp-canfar-panel';
    this.addClass('jp-CanfarPanel');
    this.title.icon = canfarIcon;
    this.title.caption = this._trans.__('CANFAR batches and sessions');
  }

  get model(): ICanfarModel {
    return this._model;
  }

  /** The view state: expanded batches, filters, pages, the replica opened. */
  get ui(): PanelUiStore {
    return this._ui;
  }

  /** The clock of running times and the time left (tests move it on with `tick()`). */
  get clock(): Clock {
    return this._clock;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    this._model.setVisible(this.id, false);
    this._clock.dispose();
    super.dispose();
  }

  /** Expands or collapses a batch group (by its key). */
  toggle(key: string, expanded?: boolean): void {
    this._ui.update(key, (ui) => ({ expanded: expanded ?? !ui.expanded }));
  }

  /** Expands a batch and scrolls it into view (the "Open batch" of a notification). */
  reveal(key: string): void {
    this.toggle(key, true);
    requestAnimationFrame(() => {
      const item = [...this.node.querySelectorAll<HTMLElement>('.jp-CanfarPanel-batch')].find(
        (node) => node.dataset.key === key,
      );
      item?.scrollIntoView({ block: 'start' });
      item?.querySelector<HTMLElement>('[data-canfar-action="toggle"]')?.focus();
    });
  }

  protected render(): JSX.Element {
    return (
      <CanfarPanelView
        model={this._model}
        ui={this._ui}
        clock={this._clock}
        trans={this._trans}
        actions={this._actions}
      />
    );
  }

  protected override onBeforeShow(msg: Message): void {
    super.onBeforeShow(msg);
    // Coming back to the panel refreshes at once instead of showing data up to one interval old.
    this._model.setVisible(this.id, true);
  }

  protected override onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._model.setVisible(this.id, false);
  }

  private _model: ICanfarModel;
  private _trans: TranslationBundle;
  private _clock: Clock;
  private _ui = new PanelUiStore();
  private _actions: PanelViewActions;
}
