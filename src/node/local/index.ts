// The local Skaha-compatible server: `startLocalServer` and its types.
export { startLocalServer } from './server';
export { defaultStateDir } from './state';
export { FAULTS_ENV } from './faults';
export type { FaultOptions, LocalServer, LocalServerOptions, TlsOptions } from './types';
