// The application proper: registers JupyterLab's core plugins (from the generated list) and the
// plugins of the federated extensions that bootstrap.js has loaded, then starts JupyterLab.
import { PageConfig } from '@jupyterlab/coreutils';
import { PluginRegistry } from '@lumino/coreutils';

import { extensions, mimeExtensions } from './plugins.generated.js';
import './styles.generated.js';

/** One module's plugins (an extension module exports one plugin or an array of them). */
function pluginsOf(module) {
  // ES modules export plugins as default; a CommonJS module is the export itself.
  const exported =
    module && Object.prototype.hasOwnProperty.call(module, '__esModule') ? module.default : module;
  const value = exported && exported.default !== undefined && !exported.id ? exported.default : exported;
  return Array.isArray(value) ? value : [value];
}

async function federatedModule(name, request) {
  const factory = await window._JUPYTERLAB[name].get(request);
  return factory();
}

export async function main(federated) {
  const disabled = [];
  const deferred = [];
  const available = [];

  // Sort plugins into active / disabled / deferred by page config (disabledExtensions etc.).
  const collect = (target, scope, module) => {
    for (const plugin of pluginsOf(module)) {
      const isDisabled = PageConfig.Extension.isDisabled(plugin.id);
      available.push({
        id: plugin.id,
        description: plugin.description,
        requires: plugin.requires ?? [],
        optional: plugin.optional ?? [],
        provides: plugin.provides ?? null,
        autoStart: plugin.autoStart,
        enabled: !isDisabled,
        extension: scope,
      });
      if (isDisabled) {
        disabled.push(plugin.id);
        continue;
      }
      if (PageConfig.Extension.isDeferred(plugin.id)) deferred.push(plugin.id);
      target.push(plugin);
    }
  };

  // A federated extension of the same name as a core one replaces it, as in JupyterLab.
  const overridden = new Set(federated.map((e) => e.name));
  const load = async (list) =>
    Promise.allSettled(
      list.filter(([name]) => !overridden.has(name)).map(async ([name, loader]) => [name, await loader()]),
    );

  const plugins = [];
  const mimePlugins = [];
  for (const result of await load(mimeExtensions)) {
    if (result.status === 'fulfilled') collect(mimePlugins, result.value[0], result.value[1]);
    else console.error(result.reason);
  }
  for (const result of await load(extensions)) {
    if (result.status === 'fulfilled') collect(plugins, result.value[0], result.value[1]);
    else console.error(result.reason);
  }
  for (const extension of federated) {
    try {
      if (extension.mimeExtension) {
        collect(mimePlugins, extension.name, await federatedModule(extension.name, extension.mimeExtension));
      }
      if (extension.extension) {
        collect(plugins, extension.name, await federatedModule(extension.name, extension.extension));
      }
      if (extension.style && !PageConfig.Extension.isDisabled(extension.name)) {
        await federatedModule(extension.name, extension.style);
      }
    } catch (error) {
      console.error(`Extension ${extension.name} failed to load:`, error);
    }
  }

  const registry = new PluginRegistry();
  registry.registerPlugins(plugins);
  const { JupyterLab } = await import('@jupyterlab/application');
  const { IConnectionStatus, IServiceManager } = await import('@jupyterlab/services');
  // Since JupyterLab 4.4 the service manager is itself provided by a plugin (services-extension).
  const serviceManager = (await registry.resolveOptionalService(IServiceManager)) ?? undefined;
  const connectionStatus = (await registry.resolveOptionalService(IConnectionStatus)) ?? undefined;

  const lab = new JupyterLab({
    pluginRegistry: registry,
    serviceManager,
    connectionStatus,
    mimeExtensions: mimePlugins,
    disabled: { matches: disabled, patterns: PageConfig.Extension.disabled.map((v) => v.raw) },
    deferred: { matches: deferred, patterns: PageConfig.Extension.deferred.map((v) => v.raw) },
    availablePlugins: available,
  });
  // The tests drive the app through window.jupyterapp (commands, shell): only when the server asks.
  if (String(PageConfig.getOption('exposeAppInBrowser')).toLowerCase() === 'true') window.jupyterapp = lab;
  await lab.start({ ignorePlugins: deferred, bubblingKeydown: true });
}
