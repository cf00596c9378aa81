/** Delete and open actions shared by the side panel and the Running panel section. */
import { Notification } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { confirmDelete } from './dialogs';
import { describeError } from './model';
import { CommandIDs } from './tokens';
import type { BatchGroup, ICanfarModel, SessionRef } from './tokens';

/** The actions shared by the panel and the Running panel section. */
export function sessionActions(
  model: ICanfarModel,
  trans: TranslationBundle,
  execute: (command: string, args: ReadonlyPartialJSONObject) => Promise<unknown>,
) {
  const deleteSession = async (session: SessionRef, ask = true) => {
    const ok =
      !ask ||
      (await confirmDelete(
        trans,
        model.settings.confirmBeforeDelete,
        trans.__('Delete session?'),
        trans.__(
          'Delete %1 (%2)? Its log and events are lost unless they were saved in a batch folder.',
          session.name,
          session.id,
        ),
      ));
    if (!ok) return;
    try {
      await model.deleteSession(session.id);
    } catch (error) {
      Notification.error(
        trans.__('Could not delete %1: %2', session.name, describeError(error, model.state.info)),
      );
    }
  };
  const deleteBatch = async (group: BatchGroup, ask = true) => {
    const count = group.replicas.filter((row) => row.session).length;
    const sessions = trans._n(
      'Delete the %1 session of batch %2?',
      'Delete the %1 sessions of batch %2?',
      count,
      group.name,
    );
    // A recorded batch leaves the panel too; what it wrote is the user's and stays.
    const folder = group.manifest?.folder;
    const body = folder
      ? `${count > 0 ? `${sessions} ` : ''}${trans.__(
          'Batch %1 leaves the panel; its folder %2 (script, logs, status files, outputs) stays.',
          group.name,
          folder,
        )}`
      : sessions;
    const ok =
      !ask ||
      (await confirmDelete(trans, model.settings.confirmBeforeDelete, trans.__('Delete batch?'), body));
    if (!ok) return;
    const failures = await model.deleteBatch(group);
    if (failures.length > 0) {
      Notification.error(
        trans.__(
          'Batch %1 was not entirely deleted (it stays in the panel; try again): %2',
          group.name,
          failures.map((f) => `${f.id}: ${f.error}`).join('; '),
        ),
      );
    }
  };
  const openLogs = (session: SessionRef, tab: 'log' | 'events') =>
    void execute(CommandIDs.openLogs, { id: session.id, name: session.name, tab });
  return { deleteSession, deleteBatch, openLogs };
}
