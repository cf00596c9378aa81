/**
 * The panel's header: the title with Submit and Refresh, a warning when the server half and this
 * extension do not match, who and where (endpoint, user, credential), and the platform's load.
 */
import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { PlatformStats } from '../../skaha';
import type { CanfarInfo } from '../tokens';
import { PanelButton } from './button';

export interface PanelHeaderProps {
  info?: CanfarInfo;
  stats?: PlatformStats;
  statsProblem?: string;
  /** The endpoint of the settings, shown while the server half has not answered. */
  endpointSetting: string;
  trans: TranslationBundle;
  onSubmit?: () => void;
  onRefresh: () => void;
}

const fmt = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

function PanelHeaderImpl({
  info,
  stats,
  statsProblem,
  endpointSetting,
  trans,
  onSubmit,
  onRefresh,
}: PanelHeaderProps): JSX.Element {
  const parts: string[] = [];
  if (info) {
    parts.push(trans.__('Endpoint: %1', info.url ? `${info.endpoint} (${info.url})` : info.endpoint));
    if (info.user) parts.push(trans.__('User: %1', info.user));
    if (info.credential) {
      const { kind, source } = info.credential;
      parts.push(
        source ? trans.__('Credential: %1 from %2', kind, source) : trans.__('Credential: %1', kind),
      );
    }
  }
  return (
    <header className="jp-CanfarPanel-header">
      <div className="jp-CanfarPanel-titleRow">
        <h2 className="jp-CanfarPanel-title">CANFAR</h2>
        {onSubmit && (
          <PanelButton
            action="submit"
            title={trans.__('Submit the current notebook as a headless batch')}
            onClick={onSubmit}
          >
            {trans.__('Submit…')}
          </PanelButton>
        )}
        <PanelButton
          action="refresh"
          aria-label={trans.__('Refresh now')}
          title={trans.__('Refresh now')}
          onClick={onRefresh}
        >
          <refreshIcon.react tag="span" elementPosition="center" />
        </PanelButton>
      </div>
      {info?.versionWarning && (
        <div
          className="jp-CanfarPanel-message jp-CanfarPanel-warning"
          role="note"
          data-canfar="version-warning"
        >
          {info.versionWarning}
        </div>
      )}
      {info ? (
        <div className="jp-CanfarPanel-info" data-canfar="info">
          {parts.map((part) => (
            <span key={part} className="jp-CanfarPanel-infoItem">
              {part}
            </span>
          ))}
        </div>
      ) : (
        endpointSetting && (
          <div className="jp-CanfarPanel-info">{trans.__('Endpoint (settings): %1', endpointSetting)}</div>
        )
      )}
      {stats ? (
        <div className="jp-CanfarPanel-stats" data-canfar="stats">
          {trans.__(
            'Platform: %1 of %2 cores and %3 of %4 GB requested',
            fmt(stats.cores.requested),
            fmt(stats.cores.available),
            fmt(stats.ram.requestedGB),
            fmt(stats.ram.availableGB),
          )}
        </div>
      ) : (
        statsProblem && (
          <div className="jp-CanfarPanel-stats">
            {trans.__('Platform load unavailable: %1', statsProblem)}
          </div>
        )
      )}
    </header>
  );
}

export const PanelHeader = React.memo(PanelHeaderImpl);
