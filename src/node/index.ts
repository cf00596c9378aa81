// jupyterlab-canfar/node: the Node-side module (scripts, JS/TS kernels, the CLI's building blocks).
export * from '../distributed';
export * from './local';
export * from '../skaha';
export * from './transport';
export * from './credentials';
export * from './connect';
export * from '../batch';
export * from './batch-store';
export * from './kernel';
export {
  convertNotebook,
  readParameters,
  kernelLanguage,
  formatDiagnostic,
  type ConversionResult,
  type ConversionDiagnostic,
  type ConvertOptions,
  type NotebookParameter,
  type MagicsPolicy,
} from '../convert';
