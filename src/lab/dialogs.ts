/** Confirmations before actions (deletions honour the "confirm before delete" setting). */
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
  return confirmAction(trans, title, body, trans.__('Delete'), true);
}

/** Resolves true when the user accepted the dialog: Cancel, or `ok` (in the warning style with `warn`). */
export async function confirmAction(
  trans: TranslationBundle,
  title: string,
  body: string,
  ok: string,
  warn = false,
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      warn ? Dialog.warnButton({ label: ok }) : Dialog.okButton({ label: ok }),
    ],
  });
  return result.button.accept;
}
