/**
 * The panel's small text button (JupyterLab's minimal button style). `action` names it in
 * `data-canfar-action`, which tests and the panel's styles select on; every other prop goes to the
 * `<button>` as given.
 */
import * as React from 'react';

export function PanelButton({
  action,
  ...props
}: React.ButtonHTMLAttributes<HTMLButtonElement> & { action?: string }): JSX.Element {
  return (
    <button
      type="button"
      className="jp-CanfarPanel-button jp-Button jp-mod-minimal"
      {...(action !== undefined ? { 'data-canfar-action': action } : {})}
      {...props}
    />
  );
}
