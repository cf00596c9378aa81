// A batch: one notebook run as N replica sessions (plan, files, submit, monitor, actions). Isomorphic:
// file access goes through a BatchStore, the platform through a SkahaClient.
export * from './types';
export * from './store';
export * from './ids';
export * from './sha256';
export * from './wrapper';
export * from './paths';
export * from './plan';
export * from './rules';
export * from './params';
export * from './sweep';
export * from './identity';
export * from './platform';
export * from './manifest';
export * from './submit';
export * from './logs';
export * from './monitor';
export * from './views';
export * from './actions';
export * from './options';
export * from './submit-options';
export * from './notebook-output';
export * from './insights';
