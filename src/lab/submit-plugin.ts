/**
 * The command "Submit notebook as headless batch…" (notebook toolbar, file browser context menu, palette,
 * panel): find the notebook, save it if needed, gather the platform's options, show the dialog, then hand
 * the validated request to the batch backend (src/batch through `createBatchBackend`).
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { ReadonlyPartialJSONValue } from '@lumino/coreutils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { newBatchId, randomBase36 } from '../batch';
import { canfarIcon } from './icons';
import { describeError } from './model';
import { currentSessionImage, SubmitForm } from './submit';
import type { SubmitContext, SubmitInput, SubmitValue } from './submit';
import { CommandIDs, ICanfarBatches, ICanfarModel, TRANSLATION_DOMAIN } from './tokens';
import type { BatchBackend, SubmitOutcome, SubmitRequest } from './tokens';
import { confirmAction } from './dialogs';

export type { BatchBackend, SubmitOutcome, SubmitRequest };

export const submitPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-canfar:submit',
  description: 'The "Submit notebook as headless batch…" command, its toolbar button and context menu entry.',
  autoStart: true,
  requires: [ICanfarModel],
  optional: [ICanfarBatches, ITranslator, INotebookTracker, IDefaultFileBrowser, ICommandPalette, IStateDB],
  activate: (
    app: JupyterFrontEnd,
    model: ICanfarModel,
    backend: BatchBackend | null,
    translator: ITranslator | null,
    notebooks: INotebookTracker | null,
    browser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    state: IStateDB | null,
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    app.commands.addCommand(CommandIDs.submitNotebook, {
      label: trans.__('Submit Notebook as Headless Batch…'),
      caption: trans.__('Run this notebook as N headless replicas on CANFAR'),
      icon: (args) => (args.toolbar ? canfarIcon : undefined),
      isEnabled: () => Boolean(notebookPath(app, notebooks, browser, {})),
      execute: async (args) => {
        const path = notebookPath(app, notebooks, browser, args);
        if (!path) {
          Notification.warning(trans.__('Open or select a notebook (.ipynb) to submit it as a batch.'));
          return;
        }
        await submitNotebook(app, model, backend, trans, notebooks, path, state);
      },
    });
    palette?.addItem({ command: CommandIDs.submitNotebook, category: 'CANFAR' });
  },
};

/** The notebook to submit: the `path` argument, else the context-menu selection, else the current notebook. */
function notebookPath(
  app: JupyterFrontEnd,
  notebooks: INotebookTracker | null,
  browser: IDefaultFileBrowser | null,
  args: Record<string, unknown>,
): string | undefined {
  if (typeof args.path === 'string' && args.path.endsWith('.ipynb')) return args.path;
  const contextNode = app.contextMenuHitTest((node) => node.classList.contains('jp-DirListing-item'));
  if (contextNode && browser) {
    const selected = browser.selectedItems().next();
    const item = selected && !selected.done ? selected.value : undefined;
    if (item?.type === 'notebook') return item.path;
  }
  return notebooks?.currentWidget?.context.path;
}

async function submitNotebook(
  app: JupyterFrontEnd,
  model: ICanfarModel,
  backend: BatchBackend | null,
  trans: TranslationBundle,
  notebooks: INotebookTracker | null,
  path: string,
  state: IStateDB | null,
): Promise<void> {
  const open = notebooks?.find((panel) => panel.context.path === path);
  if (open?.context.model.dirty) {
    const save = await confirmAction(
      trans,
      trans.__('Unsaved changes'),
      trans.__('%1 has unsaved changes. The replicas run the saved notebook.', PathExt.basename(path)),
      trans.__('Save and submit'),
    );
    if (!save) return;
    await open.context.save();
  }

  const contents = app.serviceManager.contents;
  let notebookText: string;
  let notebook: unknown;
  try {
    const file = await contents.get(path, { content: true, type: 'notebook', format: 'json' });
    notebook = file.content;
    notebookText = JSON.stringify(file.content, null, 1);
  } catch (error) {
    Notification.error(trans.__('Could not read %1: %2', path, describeError(error)));
    return;
  }

  const platform = await loadPlatform(model, trans, path);
  if (backend) {
    try {
      platform.parameters = backend.parameters(notebook);
    } catch {
      // A notebook whose parameters cannot be read still submits, without overrides.
    }
  }
  const info = model.state.info;
  // The batch id ends with these 4 characters, and so does the proposed name (as the CLI's default name):
  // two submissions of one notebook never take the same session names. Its time is the submission's.
  const batchSuffix = randomBase36(4);
  const request = (value: SubmitValue): SubmitRequest => ({
    notebookPath: path,
    notebookText,
    value,
    settings: model.settings,
    platform,
    user: info?.user ?? undefined,
    endpoint: info?.url || info?.endpoint,
    sessions: model.state.sessions,
    batchId: newBatchId(new Date(), batchSuffix),
  });
  const memoryKey = `jupyterlab-canfar:last-submission:${path}`;
  const remembered = state ? await state.fetch(memoryKey).catch(() => undefined) : undefined;
  const form = new SubmitForm({
    trans,
    settings: model.settings,
    info: platform,
    initial: remembered && typeof remembered === 'object' ? (remembered as Partial<SubmitInput>) : undefined,
    preview: backend ? (value) => backend.preview(request(value)) : undefined,
    batchSuffix,
  });
  const result = await showDialog({
    title: trans.__('Submit %1 as a headless batch', PathExt.basename(path)),
    body: form,
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Submit') }),
    ],
    focusNodeSelector: 'input[name="name"]',
  });
  const value = result.button.accept ? result.value : undefined;
  if (!value) return;
  // Remembered for the next submission of this notebook; env is left out (it may hold secrets).
  const { env: _env, ...remember } = form.input;
  await state?.save(memoryKey, remember as unknown as ReadonlyPartialJSONValue).catch(() => undefined);
  if (!backend) {
    Notification.error(
      trans.__(
        'Nothing was submitted: this build of jupyterlab-canfar lacks the batch module (src/batch). Use `canfar-lab submit` meanwhile.',
      ),
    );
    return;
  }
  await reportLaunch(app, model, trans, value.replicas, (progress) =>
    backend.submit(request(value), progress),
  );
}

/** Progress and result of a launch as one notification: "Submitting N…", then "k/N started", failures named. */
export async function reportLaunch(
  app: JupyterFrontEnd,
  model: ICanfarModel,
  trans: TranslationBundle,
  replicas: number,
  launch: (progress: (text: string) => void) => Promise<SubmitOutcome>,
): Promise<SubmitOutcome | undefined> {
  const id = Notification.emit(
    trans._n('Submitting %1 replica…', 'Submitting %1 replicas…', replicas, replicas),
    'in-progress',
    { autoClose: false },
  );
  try {
    const outcome = await launch((text) => Notification.update({ id, message: text }));
    const summary = trans.__('%1/%2 started for batch %3', outcome.launched, outcome.total, outcome.batchId);
    Notification.update({
      id,
      message:
        outcome.failed > 0 ? `${summary}. ${trans.__('Failed: %1', outcome.failures.join('; '))}` : summary,
      type: outcome.failed > 0 ? (outcome.launched > 0 ? 'warning' : 'error') : 'success',
      autoClose: outcome.failed > 0 ? false : 8000,
      actions: [
        {
          label: trans.__('Open batch'),
          callback: () => {
            void app.commands.execute('filebrowser:go-to-path', { path: `/${outcome.folder}` });
          },
        },
      ],
    });
    void model.refresh();
    return outcome;
  } catch (error) {
    Notification.update({
      id,
      message: trans.__('Submission failed: %1', describeError(error, model.state.info)),
      type: 'error',
      autoClose: false,
    });
    return undefined;
  }
}

/** The platform's options for the dialog; a failure leaves the dialog usable with free input. */
async function loadPlatform(
  model: ICanfarModel,
  trans: TranslationBundle,
  notebookPath: string,
): Promise<SubmitContext> {
  const service = model.service;
  const [context, images, repositories] = await Promise.allSettled([
    service.context(),
    service.images('headless'),
    service.repositories(),
  ]);
  const problems = [context, images, repositories]
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => describeError(r.reason, model.state.info));
  return {
    notebookPath,
    currentImage: currentSessionImage(model.state.sessions, window.location.pathname),
    context: context.status === 'fulfilled' ? context.value : undefined,
    images: images.status === 'fulfilled' ? images.value : undefined,
    repositories: repositories.status === 'fulfilled' ? repositories.value : undefined,
    platformProblem:
      problems.length > 0
        ? trans.__(
            'The platform options could not be loaded (%1); values are checked again at submission.',
            [...new Set(problems)].join('; '),
          )
        : undefined,
  };
}
