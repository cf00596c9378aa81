import { dirname, joinPath } from './store';

/**
 * The folder, beside the notebook, that holds its batches: `canfar-batches/<batch-id>/`. Not a dot-folder:
 * jupyter_server refuses hidden paths through the contents API by default (`ContentsManager.allow_hidden`
 * is False), and JupyterLab's file browser hides them, so users could not open a batch's logs and outputs.
 */
export const BATCHES_FOLDER = 'canfar-batches';

/** `<dir>/canfar-batches`: where the batches of the notebooks in `dir` live. */
export function batchesRoot(dir: string): string {
  return joinPath(dir, BATCHES_FOLDER);
}

/** `<notebook dir>/canfar-batches/<batch-id>`. */
export function batchFolder(notebookPath: string, batchId: string): string {
  return joinPath(batchesRoot(dirname(notebookPath)), batchId);
}

/** From a batch folder up to the notebook's folder (`../..`): run.sh runs the script there. */
export const BATCH_FOLDER_TO_NOTEBOOK_DIR = [...BATCHES_FOLDER.split('/'), 'batch-id']
  .map(() => '..')
  .join('/');

/** The notebook's folder of a batch folder: the inverse of `batchFolder`. */
export function notebookDirOf(folder: string): string {
  return joinPath(folder, BATCH_FOLDER_TO_NOTEBOOK_DIR);
}
