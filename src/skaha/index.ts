// The Skaha v1 wire protocol: types, zod schemas, request encoding, typed errors, the client over an injected
// Transport, and the replica loop. Isomorphic: runs in the browser, in Node and in JS kernels.
export * from './types';
export * from './errors';
export {
  parseRamGB,
  parseCores,
  normaliseStatus,
  parseBody,
  sessionSchema,
  sessionListSchema,
  platformSessionSchema,
  platformSessionListSchema,
  contextSchema,
  statsSchema,
  imageSchema,
  imageListSchema,
  repositoriesSchema,
} from './schemas';
export { parseEventsTable } from './event-table';
export * from './validate';
export * from './client';
export * from './replicas';
export * from './resources';
export * from './follow';
