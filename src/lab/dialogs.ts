/** Confirmations before destructive actions, honouring the "confirm before delete" setting. */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';

/**
 * Resolves true when the action may go ahead: at once when confirmations are off, else after the user
 * accepted the dialog.
 */
export async function confirmDelete(
  trans: TranslationBundle,
  confirm: boolean,
  title: string,
  body: string,
): Promise<boolean> {
  if (!confirm) return true;
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Delete') }),
    ],
  });
  return result.button.accept;
}
