/**
 * The JupyterLab plugins of jupyterlab-canfar. This module only wires: the model, views and commands
 * live in their own modules.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { BATCHES_FOLDER, failedReplicas } from '../batch';
import { BatchBridge } from './batch-bridge';
import { ContentsBatchStore } from './contents-store';
import type { BatchGroup } from './grouping';
import { createLabClient, fetchInfo } from './api';
import { confirmAction } from './dialogs';
import { sessionActions } from './actions';
import { canfarIcon } from './icons';
import { createLogViewer } from './logviewer';
import type { LogViewerContent } from './logviewer';
import { KernelRequests } from './kernel-requests';
import { KernelVerbs } from './kernel-verbs';
import { CanfarModel, describeError } from './model';
import { batchRendererFactory } from './outputs/batch-output';
import { sessionsRendererFactory } from './outputs/sessions-output';
import { BatchNotifier } from './notifications';
import { CanfarPanel } from './panel';
import { CanfarRunningManager } from './running';
import { reportLaunch, submitPlugin } from './submit-plugin';
import {
  CommandIDs,
  ICanfarBatches,
  ICanfarModel,
  PLUGIN_ID,
  readSettings,
  TRANSLATION_DOMAIN,
} from './tokens';

export * from './tokens';
// The batch views that work outside the panel (notebook outputs): progress bar, replica grid, failures,
// timeline, with the labels they use and the group they take.
export * from './views';
export { batchGroupOf } from './grouping';

/** The model, the side panel, the log viewer and their commands. */
const mainPlugin: JupyterFrontEndPlugin<ICanfarModel> = {
  id: PLUGIN_ID,
  description: 'CANFAR side panel: batches and sessions on the CANFAR Science Platform (Skaha), with logs.',
  autoStart: true,
  provides: ICanfarModel,
  optional: [ISettingRegistry, ITranslator, ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
  ): ICanfarModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const serverSettings = app.serviceManager.serverSettings;
    let versionWarned = false;
    const model = new CanfarModel({
      service: createLabClient(serverSettings),
      info: async () => {
        const result = await fetchInfo(serverSettings, trans);
        // Labextension and server half from different releases: said once, and kept in the info.
        const warning = result.info?.versionWarning;
        if (warning && !versionWarned) {
          versionWarned = true;
          Notification.warning(warning, { autoClose: false });
        }
        return result;
      },
      trans,
    });

    const tracker = new WidgetTracker<MainAreaWidget<LogViewerContent>>({ namespace: 'canfar-logs' });
    const actions = sessionActions(model, trans, (command, args) => app.commands.execute(command, args));
    const run = (command: string, group: BatchGroup, extra: ReadonlyPartialJSONObject = {}) =>
      void app.commands.execute(command, { id: group.key, ...extra });
    const panel = new CanfarPanel({
      model,
      trans,
      actions: {
        ...actions,
        submitNotebook: () => void app.commands.execute(CommandIDs.submitNotebook),
        // Batch actions are commands of the batches plugin; the panel offers them on recorded batches only.
        rerun: async (group, onlyFailed) => run(CommandIDs.rerunBatch, group, { onlyFailed }),
        rerunCombine: async (group) => run(CommandIDs.rerunCombine, group),
        openScript: (group) => run(CommandIDs.openBatchScript, group),
        openFolder: (group) => run(CommandIDs.openBatchFolder, group),
        openFile: (path) => void app.commands.execute('docmanager:open', { path }),
      },
    });
    app.shell.add(panel, 'left', { rank: 600, type: 'CANFAR' });
    restorer?.add(panel, 'canfar-panel');

    app.commands.addCommand(CommandIDs.showBatch, {
      label: trans.__('Show Batch in the CANFAR Panel'),
      execute: (args) => {
        app.shell.activateById(panel.id);
        panel.reveal(String(args.id ?? ''));
      },
    });
    // The first failure and the end of each batch, also with the panel closed (the model polls while
    // a batch runs); off with the `notifications` setting.
    new BatchNotifier(model, trans, {
      openLogs: (session) => actions.openLogs(session, 'log'),
      showBatch: (key) => void app.commands.execute(CommandIDs.showBatch, { id: key }),
      rerunFailed: (key) => {
        if (app.commands.hasCommand(CommandIDs.rerunBatch))
          void app.commands.execute(CommandIDs.rerunBatch, { id: key, onlyFailed: true });
      },
    });

    app.commands.addCommand(CommandIDs.openPanel, {
      label: trans.__('Show the CANFAR Panel'),
      caption: trans.__('Batches and sessions on CANFAR'),
      icon: canfarIcon,
      execute: () => app.shell.activateById(panel.id),
    });
    app.commands.addCommand(CommandIDs.refresh, {
      label: trans.__('Refresh CANFAR Sessions'),
      execute: () => model.refresh(),
    });
    app.commands.addCommand(CommandIDs.openLogs, {
      label: (args) => trans.__('Show Log of %1', String(args.name ?? args.id ?? '')),
      execute: (args) => {
        const id = String(args.id ?? '');
        const name = String(args.name ?? id);
        const tab = args.tab === 'events' ? 'events' : 'log';
        const existing = tracker.find((widget) => widget.content.sessionId === id);
        if (existing) {
          existing.content.tabs.currentIndex = tab === 'events' ? 1 : 0;
          app.shell.activateById(existing.id);
          return existing;
        }
        const widget = createLogViewer({
          model,
          trans,
          sessionId: id,
          name,
          tab,
          capturedLog: (sessionId) => model.capturedLog(sessionId),
        });
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        return widget;
      },
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openLogs,
        args: (widget) => ({ id: widget.content.sessionId, name: widget.content.sessionName }),
        name: (widget) => widget.content.sessionId,
      });
    }
    for (const command of [CommandIDs.openPanel, CommandIDs.refresh]) {
      palette?.addItem({ command, category: 'CANFAR' });
    }

    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then((settings) => {
          const apply = () =>
            model.updateSettings(readSettings(settings.composite as Record<string, unknown>));
          apply();
          settings.changed.connect(apply);
        })
        .catch((error) =>
          console.warn(`jupyterlab-canfar: settings not loaded (${describeError(error)}); using defaults.`),
        );
    }
    void app.restored.then(() => model.start());
    return model;
  },
};

/** The CANFAR section of the Running panel. */
const runningPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-canfar:running',
  description: 'A CANFAR section in the Running panel: batches with their replicas, and other sessions.',
  autoStart: true,
  requires: [ICanfarModel, IRunningSessionManagers],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ICanfarModel,
    managers: IRunningSessionManagers,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const actions = sessionActions(model, trans, (command, args) => app.commands.execute(command, args));
    const manager = new CanfarRunningManager(
      model,
      {
        open: (session) => actions.openLogs(session, 'log'),
        // The Running panel asks before "Delete All"; one item follows the delete setting.
        deleteSession: (session, ask) => actions.deleteSession(session, ask),
        deleteBatch: (group) => actions.deleteBatch(group),
        showBatch: (group) => void app.commands.execute(CommandIDs.showBatch, { id: group.key }),
      },
      trans,
    );
    managers.add(manager);
  },
};

/** Batch folders through the contents API: submission, monitoring, re-runs, saved logs. */
const batchesPlugin: JupyterFrontEndPlugin<ICanfarBatches> = {
  id: 'jupyterlab-canfar:batches',
  description: `CANFAR batches: batch folders (${BATCHES_FOLDER}/) read and written through the Jupyter contents API.`,
  autoStart: true,
  provides: ICanfarBatches,
  requires: [ICanfarModel],
  optional: [IStateDB, IDefaultFileBrowser, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: ICanfarModel,
    state: IStateDB | null,
    browser: IDefaultFileBrowser | null,
    translator: ITranslator | null,
  ): ICanfarBatches => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const key = 'jupyterlab-canfar:batch-folders';
    const known = async () => {
      const value = state ? await state.fetch(key) : undefined;
      return Array.isArray(value) ? value.filter((f): f is string => typeof f === 'string') : [];
    };
    const bridge = new BatchBridge({
      client: createLabClient(app.serviceManager.serverSettings),
      store: new ContentsBatchStore(app.serviceManager.contents, PageConfig.getOption('serverRoot')),
      knownFolders: known,
      remember: async (folder) => {
        // The 50 latest batches submitted from this browser stay in the panel, wherever their notebook is.
        if (state)
          await state.save(key, [folder, ...(await known()).filter((f) => f !== folder)].slice(0, 50));
      },
      scanDirs: () => (browser ? [browser.model.path] : []),
    });
    model.setBatchSource({
      batches: (sessions) => bridge.batches(sessions),
      capturedLog: (id) => bridge.capturedLog(id),
      markDeleted: (id) => bridge.markDeleted(id),
    });

    const viewOf = (args: ReadonlyPartialJSONObject) => {
      const view = bridge.view(String(args.id ?? ''));
      if (!view)
        throw new Error(trans.__('Batch %1 is not known: its folder could not be read.', String(args.id)));
      return view;
    };
    app.commands.addCommand(CommandIDs.rerunBatch, {
      label: (args) => (args.onlyFailed ? trans.__('Re-run Failed Replicas') : trans.__('Re-run Batch')),
      execute: async (args) => {
        const view = viewOf(args);
        const onlyFailed = Boolean(args.onlyFailed);
        const count = onlyFailed ? failedReplicas(view).length : view.manifest.replicaCount;
        const launch = await confirmAction(
          trans,
          onlyFailed ? trans.__('Re-run failed replicas?') : trans.__('Re-run batch?'),
          trans._n(
            'Launch %1 replica of %2 again, with the same script, image and resources?',
            'Launch %1 replicas of %2 again, with the same script, image and resources?',
            count,
            view.name,
          ),
          trans.__('Launch'),
        );
        if (!launch) return;
        await reportLaunch(app, model, trans, count, (progress) =>
          bridge.rerun(view.batchId, onlyFailed, model.settings.maxConcurrentSubmissions, progress),
        );
      },
    });
    app.commands.addCommand(CommandIDs.rerunCombine, {
      label: trans.__('Re-run Combine Step'),
      execute: async (args) => {
        const view = viewOf(args);
        const file = view.manifest.combine?.file ?? 'combine.py';
        const confirmed = await confirmAction(
          trans,
          trans.__('Re-run the combine step?'),
          trans.__(
            'One session runs %1 of the batch folder of %2 again (fix it there first); the replicas are not run again, and its log is appended to logs/combine.log.',
            file,
            view.name,
          ),
          trans.__('Run combine'),
        );
        if (!confirmed) return;
        const id = Notification.emit(
          trans.__('Launching the combine step of %1…', view.name),
          'in-progress',
          {
            autoClose: false,
          },
        );
        try {
          const launched = await bridge.rerunCombine(view.batchId);
          Notification.update({
            id,
            message: trans.__(
              'The combine step of %1 runs again (attempt %2) in session %3.',
              view.name,
              launched.attempt,
              launched.sessionId,
            ),
            type: 'success',
            autoClose: 8000,
          });
          void model.refresh();
        } catch (error) {
          Notification.update({
            id,
            message: trans.__('The combine step was not re-run: %1', describeError(error, model.state.info)),
            type: 'error',
            autoClose: false,
          });
        }
      },
    });
    app.commands.addCommand(CommandIDs.openBatchScript, {
      label: trans.__('Open Batch Script'),
      execute: (args) => {
        const view = viewOf(args);
        return app.commands.execute('docmanager:open', {
          path: `${view.folder}/${view.manifest.script.file}`,
        });
      },
    });
    app.commands.addCommand(CommandIDs.openBatchFolder, {
      label: trans.__('Open Batch Folder'),
      execute: (args) => app.commands.execute('filebrowser:go-to-path', { path: `/${viewOf(args).folder}` }),
    });
    return bridge;
  },
};

/**
 * Notebook outputs of the kernel commands (the Python `%canfar` magic, the JS kernels' `canfar`): a batch's
 * live status and session lists, rendered from `application/vnd.canfar.*+json`. A plugin rather than a
 * mime extension: the renderers need the model and the batch folders, which mime extensions cannot require.
 */
const outputsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-canfar:outputs',
  description: 'Live CANFAR batch and session outputs in notebooks (application/vnd.canfar.*+json).',
  autoStart: true,
  requires: [IRenderMimeRegistry, ICanfarModel],
  optional: [ICanfarBatches, INotebookTracker, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    model: CanfarModel,
    bridge: BatchBridge | null,
    notebooks: INotebookTracker | null,
    translator: ITranslator | null,
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const factories = [
      batchRendererFactory({
        model,
        bridge,
        trans,
        serverRoot: PageConfig.getOption('serverRoot'),
        // A replica of the picture (its grid cell, its failure group) opens in the log viewer.
        openLog: (session) =>
          void app.commands.execute(CommandIDs.openLogs, { id: session.id, name: session.name }),
      }),
      sessionsRendererFactory(model, trans),
    ];
    for (const factory of factories) rendermime.addFactory(factory, factory.defaultRank);
    // Notebooks opened before this plugin activated have their own copy of the registry.
    notebooks?.forEach((panel) => {
      for (const factory of factories)
        if (!panel.content.rendermime.getFactory(factory.mimeTypes[0]))
          panel.content.rendermime.addFactory(factory, factory.defaultRank);
    });
  },
};

/**
 * The `%canfar` magic's route inside JupyterLab: the batch engine's work a Python kernel asks for runs
 * here, with the panel's model and batch bridge (kernel-requests.ts says how a running cell reaches us).
 */
const kernelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-canfar:kernel',
  description: 'Runs the batch work of the %canfar magic of Python notebooks (submit, batches, watch, ...).',
  autoStart: true,
  requires: [ICanfarModel, ICanfarBatches, INotebookTracker],
  activate: (app: JupyterFrontEnd, model: CanfarModel, bridge: BatchBridge, notebooks: INotebookTracker) => {
    const serverSettings = app.serviceManager.serverSettings;
    const verbs = new KernelVerbs({
      bridge,
      model,
      client: createLabClient(serverSettings),
      store: new ContentsBatchStore(app.serviceManager.contents, PageConfig.getOption('serverRoot')),
    });
    const requests = new KernelRequests({
      serverSettings,
      run: (request, progress, signal) => verbs.run(request, progress, signal),
    });
    const watch = (panel: NonNullable<INotebookTracker['currentWidget']>) => {
      const context = panel.sessionContext;
      const kernel = context.session?.kernel;
      if (kernel) requests.watchKernel(kernel);
      context.kernelChanged.connect((_, change) => {
        if (change.newValue) requests.watchKernel(change.newValue);
      });
    };
    notebooks.forEach(watch);
    notebooks.widgetAdded.connect((_, panel) => watch(panel));
  },
};

export default [mainPlugin, batchesPlugin, runningPlugin, submitPlugin, outputsPlugin, kernelPlugin];
