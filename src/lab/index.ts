/**
 * The JupyterLab plugins of jupyterlab-canfar. This module only wires: the model, views and commands
 * live in their own modules.
 */
import { ILayoutRestorer } from '@jupyterlab/application';
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { IRunningSessionManagers } from '@jupyterlab/running';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { createLabClient, fetchInfo } from './api';
import { sessionActions } from './actions';
import { canfarIcon } from './icons';
import { createLogViewer } from './logviewer';
import type { LogViewerContent } from './logviewer';
import { CanfarModel, describeError } from './model';
import { CanfarPanel } from './panel';
import { CanfarRunningManager } from './running';
import { submitPlugin } from './submit-plugin';
import { CommandIDs, ICanfarModel, PLUGIN_ID, readSettings, TRANSLATION_DOMAIN } from './tokens';

export * from './tokens';

/** The model, the side panel, the log viewer and their commands. */
const mainPlugin: JupyterFrontEndPlugin<CanfarModel> = {
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
  ): CanfarModel => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const serverSettings = app.serviceManager.serverSettings;
    const model = new CanfarModel({
      service: createLabClient(serverSettings),
      info: () => fetchInfo(serverSettings),
    });

    const tracker = new WidgetTracker<MainAreaWidget<LogViewerContent>>({ namespace: 'canfar-logs' });
    const actions = sessionActions(model, trans, (command, args) => app.commands.execute(command, args));
    const panel = new CanfarPanel({
      model,
      trans,
      actions: { ...actions, submitNotebook: () => void app.commands.execute(CommandIDs.submitNotebook) },
    });
    app.shell.add(panel, 'left', { rank: 600, type: 'CANFAR' });
    restorer?.add(panel, 'canfar-panel');

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
        const widget = createLogViewer({ model, trans, sessionId: id, name, tab });
        void tracker.add(widget);
        app.shell.add(widget, 'main');
        return widget;
      },
    });
    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.openLogs,
        args: (widget) => ({ id: widget.content.sessionId, name: widget.title.label.replace(/^.*?: /, '') }),
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
    model: CanfarModel,
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
      },
      trans,
    );
    managers.add(manager);
  },
};

export default [mainPlugin, runningPlugin, submitPlugin];
