// jupyterlab-canfar/distributed: split work between replicas by REPLICA_ID (1-based) and REPLICA_COUNT,
// item for item as the official Python helpers do. No dependencies; runs in Node, Deno, browsers and JS kernels.
export { chunk, stripe, balanced, ReplicaRangeError, RANGE_MESSAGES } from './split';
export { replicaId, replicaCount, parsePythonInt, ReplicaEnvironmentError } from './env';
export type { ReplicaVariable } from './env';
