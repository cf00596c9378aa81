/**
 * Public tokens, command ids and the settings shape of the CANFAR JupyterLab extension.
 * Other extensions may depend on `ICanfarModel` to read the sessions the panel already polls.
 */
import { Token } from '@lumino/coreutils';
import type { CanfarModel } from './model';
import type { BatchBridge } from './batch-bridge';

/** The id of the main plugin; also the id of its settings schema (schema/plugin.json). */
export const PLUGIN_ID = 'jupyterlab-canfar:plugin';

/** The gettext domain of every label of this extension. */
export const TRANSLATION_DOMAIN = 'jupyterlab_canfar';

/** The command ids of this extension (the schema's toolbar and menu entries name them too). */
export const CommandIDs = {
  submitNotebook: 'canfar:submit-notebook',
  openPanel: 'canfar:open-panel',
  refresh: 'canfar:refresh',
  openLogs: 'canfar:open-logs',
  rerunBatch: 'canfar:rerun-batch',
  openBatchScript: 'canfar:open-batch-script',
  openBatchFolder: 'canfar:open-batch-folder',
} as const;

/** The settings of schema/plugin.json, with their defaults applied. */
export interface ICanfarSettings {
  /** Informational: the server half decides the endpoint; the panel shows what it reports. */
  endpoint: string;
  defaultImage: string;
  defaultResources: IResources;
  /** Seconds between two polls of the session list. */
  refreshInterval: number;
  refreshWhenHidden: boolean;
  maxConcurrentSubmissions: number;
  conversionPolicy: 'translate' | 'ipython' | 'comment';
  confirmBeforeDelete: boolean;
}

export interface IResources {
  /** Flexible: the platform picks (its /context defaultRequest, up to defaultLimit); fixed: request = limit. */
  flexible: boolean;
  cores: number;
  ram: number;
  gpus: number;
}

export const DEFAULT_SETTINGS: ICanfarSettings = {
  endpoint: '',
  defaultImage: '',
  defaultResources: { flexible: true, cores: 2, ram: 8, gpus: 0 },
  refreshInterval: 10,
  refreshWhenHidden: false,
  maxConcurrentSubmissions: 32,
  conversionPolicy: 'translate',
  confirmBeforeDelete: true,
};

/** Reads a composite settings object defensively: an invalid value falls back to its default. */
export function readSettings(composite: Partial<Record<keyof ICanfarSettings, unknown>>): ICanfarSettings {
  const d = DEFAULT_SETTINGS;
  const num = (value: unknown, fallback: number, min: number) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min ? value : fallback;
  const res = (composite.defaultResources ?? {}) as Partial<Record<keyof IResources, unknown>>;
  const policy = composite.conversionPolicy;
  return {
    endpoint: typeof composite.endpoint === 'string' ? composite.endpoint : d.endpoint,
    defaultImage: typeof composite.defaultImage === 'string' ? composite.defaultImage : d.defaultImage,
    defaultResources: {
      flexible: typeof res.flexible === 'boolean' ? res.flexible : d.defaultResources.flexible,
      cores: num(res.cores, d.defaultResources.cores, 1),
      ram: num(res.ram, d.defaultResources.ram, 1),
      gpus: num(res.gpus, d.defaultResources.gpus, 0),
    },
    refreshInterval: num(composite.refreshInterval, d.refreshInterval, 1),
    refreshWhenHidden:
      typeof composite.refreshWhenHidden === 'boolean' ? composite.refreshWhenHidden : d.refreshWhenHidden,
    maxConcurrentSubmissions: num(composite.maxConcurrentSubmissions, d.maxConcurrentSubmissions, 1),
    conversionPolicy:
      policy === 'translate' || policy === 'ipython' || policy === 'comment' ? policy : d.conversionPolicy,
    confirmBeforeDelete:
      typeof composite.confirmBeforeDelete === 'boolean'
        ? composite.confirmBeforeDelete
        : d.confirmBeforeDelete,
  };
}

/** The model of the CANFAR panel, shared with the Running panel section, the log viewer and the submit command. */
export const ICanfarModel = new Token<CanfarModel>(
  'jupyterlab-canfar:ICanfarModel',
  'The CANFAR sessions model: polled session list, batches, platform info and settings.',
);

/** The batches (src/batch through the contents API): plans, submissions, re-runs, saved logs. */
export const ICanfarBatches = new Token<BatchBridge>(
  'jupyterlab-canfar:ICanfarBatches',
  'CANFAR batches: submit a notebook as N replicas, re-run, and read the batch folders.',
);
