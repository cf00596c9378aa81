/**
 * A batch at a glance as a lumino widget, for places that are not React (notebook outputs): the stacked
 * progress bar with its counts, the replica grid and the failures grouped by signature. Set `group`
 * whenever the batch changes; unchanged parts are not redrawn.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { BatchGroup, ReplicaRow } from '../tokens';
import { FailureGroups } from './failures';
import { ReplicaGrid, rowKey } from './grid';
import { defaultTrans } from './labels';
import { BatchProgressBar } from './progress';

export interface BatchPictureOptions {
  trans?: TranslationBundle;
  /** A replica opened from the grid (click, Enter). */
  onOpenReplica?: (row: ReplicaRow) => void;
  /** The log of a failed replica; without it the failures show no Log button. */
  onOpenLog?: (row: ReplicaRow) => void;
  /** Show the failures grouped by signature (default true). */
  failures?: boolean;
}

export class BatchPicture extends ReactWidget {
  constructor(options: BatchPictureOptions = {}) {
    super();
    this._options = options;
    this.addClass('jp-CanfarPicture');
  }

  get group(): BatchGroup | undefined {
    return this._group;
  }

  set group(group: BatchGroup | undefined) {
    if (group === this._group) return;
    this._group = group;
    this.update();
  }

  protected render(): JSX.Element | null {
    const group = this._group;
    if (!group) return null;
    const trans = this._options.trans ?? defaultTrans();
    return (
      <>
        <BatchProgressBar group={group} trans={trans} />
        {group.replicas.length > 1 && (
          <ReplicaGrid group={group} trans={trans} onOpen={this._open} selected={this._selected} />
        )}
        {this._options.failures !== false && (
          <FailureGroups
            group={group}
            trans={trans}
            open={this._openFailures}
            onToggle={this._toggleFailure}
            onOpenLog={this._options.onOpenLog}
          />
        )}
      </>
    );
  }

  private _open = (row: ReplicaRow): void => {
    this._selected = rowKey(row);
    this.update();
    this._options.onOpenReplica?.(row);
  };

  private _toggleFailure = (key: string): void => {
    this._openFailures = this._openFailures.includes(key)
      ? this._openFailures.filter((k) => k !== key)
      : [...this._openFailures, key];
    this.update();
  };

  private _options: BatchPictureOptions;
  private _group?: BatchGroup;
  private _selected?: string;
  private _openFailures: string[] = [];
}
