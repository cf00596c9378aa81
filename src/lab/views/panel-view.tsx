/**
 * The CANFAR panel's content, driven by the model: the header, what went wrong, the batches (keyed by
 * batch, memoised on the model's shared objects) and the other sessions. The model emits only when a
 * poll found something new, and then only the batches that changed re-render.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { Session } from '../../skaha';
import type { CanfarState, ICanfarModel, ICanfarSettings, SessionRef } from '../tokens';
import { BatchItem } from './batch';
import type { BatchActions } from './batch';
import { PanelHeader } from './header';
import { statusLabel } from './labels';
import { SessionButtons } from './replicas';
import { DEFAULT_BATCH_UI } from './state';
import type { Clock, PanelUiStore } from './state';
import { PanelButton } from './button';

/** Everything the panel's buttons do. */
export interface PanelViewActions extends BatchActions {
  submitNotebook?(): void;
}

export interface CanfarPanelViewProps {
  model: ICanfarModel;
  ui: PanelUiStore;
  clock: Clock;
  trans: TranslationBundle;
  actions: PanelViewActions;
}

function useModelState(model: ICanfarModel): [CanfarState, ICanfarSettings] {
  const subscribe = React.useCallback(
    (listener: () => void) => {
      model.stateChanged.connect(listener);
      model.settingsChanged.connect(listener);
      return () => {
        model.stateChanged.disconnect(listener);
        model.settingsChanged.disconnect(listener);
      };
    },
    [model],
  );
  const state = React.useSyncExternalStore(subscribe, () => model.state);
  const settings = React.useSyncExternalStore(subscribe, () => model.settings);
  return [state, settings];
}

export function CanfarPanelView({ model, ui, clock, trans, actions }: CanfarPanelViewProps): JSX.Element {
  const [state, settings] = useModelState(model);
  const uiState = React.useSyncExternalStore(ui.subscribe, ui.getSnapshot);
  const onChange = React.useCallback<React.ComponentProps<typeof BatchItem>['onChange']>(
    (key, change) => ui.update(key, change),
    [ui],
  );
  const refresh = React.useCallback(() => void model.refresh(), [model]);
  const { batches, others } = state.grouped;
  return (
    <>
      <PanelHeader
        info={state.info}
        stats={state.stats}
        statsProblem={state.statsProblem}
        endpointSetting={settings.endpoint}
        trans={trans}
        onSubmit={actions.submitNotebook}
        onRefresh={refresh}
      />
      <div className="jp-CanfarPanel-body">
        {state.problem && (
          <div
            className="jp-CanfarPanel-message jp-CanfarPanel-error"
            data-canfar="error"
            data-problem={state.problem.kind}
            role="alert"
          >
            <p>{state.problem.message}</p>
            <PanelButton action="retry" title={trans.__('Poll again now')} onClick={refresh}>
              {trans.__('Try again')}
            </PanelButton>
          </div>
        )}
        {state.batchProblem && (
          <div className="jp-CanfarPanel-message jp-CanfarPanel-warning" data-canfar="batch-problem">
            {trans.__(
              'Batch folders could not be read (sessions are grouped by name only): %1',
              state.batchProblem,
            )}
          </div>
        )}
        {state.phase === 'loading' ? (
          <div className="jp-CanfarPanel-message" data-canfar="loading">
            {trans.__('Loading sessions…')}
          </div>
        ) : state.phase === 'ready' && batches.length === 0 && others.length === 0 ? (
          <div className="jp-CanfarPanel-message" data-canfar="empty">
            {trans.__(
              'No sessions yet. Open a notebook and use "Submit notebook as headless batch…" (notebook toolbar, file browser context menu or command palette) to run it as N replicas.',
            )}
          </div>
        ) : (
          <>
            {batches.length > 0 && (
              <>
                <h3 className="jp-CanfarPanel-sectionTitle">{trans.__('Batches')}</h3>
                <ul className="jp-CanfarPanel-batches">
                  {batches.map((group) => (
                    <BatchItem
                      key={group.key}
                      group={group}
                      ui={uiState[group.key] ?? DEFAULT_BATCH_UI}
                      trans={trans}
                      clock={clock}
                      actions={actions}
                      onChange={onChange}
                    />
                  ))}
                </ul>
              </>
            )}
            {others.length > 0 && (
              <>
                <h3 className="jp-CanfarPanel-sectionTitle">{trans.__('Other sessions')}</h3>
                <ul className="jp-CanfarPanel-others">
                  {others.map((session) => (
                    <OtherSession key={session.id} session={session} trans={trans} actions={actions} />
                  ))}
                </ul>
              </>
            )}
            {state.updated && (
              <div className="jp-CanfarPanel-updated" data-canfar="updated">
                {trans.__(
                  'Last change %1 · checked every %2 s',
                  state.updated.toLocaleTimeString(),
                  settings.refreshInterval,
                )}
              </div>
            )}
          </>
        )}
      </div>
    </>
  );
}

const OtherSession = React.memo(function OtherSession({
  session,
  trans,
  actions,
}: {
  session: Session;
  trans: TranslationBundle;
  actions: BatchActions;
}): JSX.Element {
  const ref: SessionRef = { id: session.id, name: session.name };
  return (
    <li className={`jp-CanfarPanel-other jp-mod-${session.status.toLowerCase()}`} data-name={session.name}>
      <span className="jp-CanfarPanel-otherName">{session.name}</span>
      <span className="jp-CanfarPanel-type">{session.type}</span>
      <span className="jp-CanfarPanel-status">
        <span className="jp-CanfarSwatch" aria-hidden="true" />
        {statusLabel(trans, session.status)}
      </span>
      {session.connectURL && (
        <a
          className="jp-CanfarPanel-link"
          href={session.connectURL}
          target="_blank"
          rel="noopener noreferrer"
        >
          {trans.__('Open')}
        </a>
      )}
      <SessionButtons session={ref} trans={trans} actions={actions} />
    </li>
  );
});
