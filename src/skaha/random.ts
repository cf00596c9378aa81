// Internal (not exported from src/skaha/index.ts): a seeded random source for the local server's fault
// injection (src/node/local/faults.ts) and for the seeded property tests. Isomorphic and dependency-free
// so both Node code and the isomorphic modules' specs can import it; not part of the public API.

/**
 * mulberry32: a tiny, fast PRNG returning numbers in [0, 1). Not for anything secret; what matters is
 * that a seed reproduces the same sequence, so a failing seeded run can be replayed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
