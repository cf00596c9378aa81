// A batch: one notebook run as N replica sessions (plan, files, submit, monitor, actions). Isomorphic:
// file access goes through a BatchStore, the platform through a SkahaClient.
export * from './types';
export * from './store';
export * from './ids';
export * from './sha256';
export * from './wrapper';
export * from './paths';
export * from './plan';
export * from './platform';
export * from './manifest';
export * from './submit';
export * from './logs';
export * from './monitor';
export * from './actions';
export * from './insights';
