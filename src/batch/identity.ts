/**
 * Replica identity (the round's memo, "Replica identity and environment"): a batch has S parameter sets
 * (S = 1 without a sweep) times R shards per set, N = S x R sessions. Replica i = (set-1) x R + shard
 * (1..N) names every file of the batch folder; REPLICA_ID/REPLICA_COUNT are the shard within its set, so
 * chunk()/stripe() split each set's data among that set's shards. Without a sweep, S = 1 and R = N: i is
 * REPLICA_ID and the names are today's `<name>-<i>`.
 */
import { replicaName } from '../skaha';

/** The shape of a batch: how many sets, how many shards per set, and whether it is a sweep. */
export interface BatchShape {
  sets: number;
  shards: number;
  /** True for a sweep (even of one set): sweep names and CANFAR_SET_* variables. */
  swept: boolean;
}

export interface ReplicaIdentity {
  /** Batch-wide index, 1..N. */
  replica: number;
  /** 1..S (1 without a sweep). */
  set: number;
  /** 1..R: REPLICA_ID. */
  shard: number;
}

export function replicaTotal(shape: BatchShape): number {
  return shape.sets * shape.shards;
}

export function identityOf(replica: number, shape: BatchShape): ReplicaIdentity {
  const shards = Math.max(1, shape.shards);
  return { replica, set: Math.floor((replica - 1) / shards) + 1, shard: ((replica - 1) % shards) + 1 };
}

export function replicaIndex(set: number, shard: number, shape: BatchShape): number {
  return (set - 1) * shape.shards + shard;
}

/**
 * The session name of replica i: `<name>-<i>` (bare `<name>` when N = 1) without a sweep or with one
 * shard per set, `<name>-<set>-<shard>` in a sweep with R > 1.
 */
export function sessionNameOf(name: string, replica: number, shape: BatchShape): string {
  const total = replicaTotal(shape);
  if (!shape.swept || shape.shards === 1) return replicaName(name, replica, total);
  const { set, shard } = identityOf(replica, shape);
  return `${name}-${set}-${shard}`;
}

/** The longest session name of the batch (for the 63-character rule). */
export function longestSessionName(name: string, shape: BatchShape): string {
  const total = replicaTotal(shape);
  if (!shape.swept || shape.shards === 1) return replicaName(name, Math.max(1, total), Math.max(1, total));
  return `${name}-${shape.sets}-${shape.shards}`;
}

/**
 * The variables that tell a replica who it is: REPLICA_ID (shard), REPLICA_COUNT (R),
 * CANFAR_BATCH_REPLICA_ID (i), CANFAR_BATCH_REPLICA_COUNT (N), and in a sweep CANFAR_SET_ID and
 * CANFAR_SET_COUNT. (The set's CANFAR_PARAM_* values are added by the plan.)
 */
export function identityEnv(replica: number, shape: BatchShape): Record<string, string> {
  const { set, shard } = identityOf(replica, shape);
  return {
    REPLICA_ID: String(shard),
    REPLICA_COUNT: String(shape.shards),
    CANFAR_BATCH_REPLICA_ID: String(replica),
    CANFAR_BATCH_REPLICA_COUNT: String(replicaTotal(shape)),
    ...(shape.swept ? { CANFAR_SET_ID: String(set), CANFAR_SET_COUNT: String(shape.sets) } : {}),
  };
}
