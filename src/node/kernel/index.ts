// Notebook commands for JavaScript/TypeScript kernels (Deno, tslab, ijavascript) and node scripts:
// typed async functions whose results render richly in each kernel, and the `canfar` tagged template.
import { balanced, chunk, stripe } from '../../distributed';
import {
  batch,
  batches,
  configure,
  connection,
  deleteBatch,
  disconnect,
  events,
  launch,
  logs,
  sessions,
  stats,
  submit,
  watch,
} from './commands';
import { display, kernelKind } from './display';
import { canfarTemplate } from './template';

// `deleteBatch` is the batch library's name at the top level of jupyterlab-canfar/node (deleteBatch(client,
// manifest)); the notebook command is `canfar.deleteBatch(id)`, also exported as `deleteBatchById`.
export {
  DEFAULT_BATCH_IMAGE,
  LogStream,
  batch,
  batches,
  configure,
  connection,
  disconnect,
  events,
  launch,
  logs,
  sessions,
  stats,
  submit,
  watch,
  deleteBatch as deleteBatchById,
} from './commands';
export type { BatchOptions, CanfarSettings, LaunchOptions, LogsOptions, WatchOptions } from './commands';
export * from './display';
export * from './results';
export { escapeHtml, htmlTable, textTable, mimeBundleOf, JUPYTER_DISPLAY } from './render';
export type { MimeBundle, Column, Displayable } from './render';
export { templateArgs, runLine } from './template';

const api = {
  configure,
  connection,
  disconnect,
  sessions,
  launch,
  submit,
  batches,
  batch,
  watch,
  logs,
  events,
  stats,
  deleteBatch,
  display,
  kernelKind,
  chunk,
  stripe,
  balanced,
};

/**
 * Every notebook command in one name, usable as a tagged template with the CLI's syntax
 * (`` await canfar`ps` ``) and as an object (`await canfar.sessions()`, `canfar.deleteBatch(id)`).
 */
export const canfar: typeof canfarTemplate & typeof api = Object.assign(canfarTemplate, api);
