import type { SkahaContext } from './types';

/** What a flexible session (no cores/ram given) gets: a small request and a larger limit. */
export interface FlexibleResources {
  requestCores: number;
  requestRamGB: number;
  limitCores: number;
  limitRamGB: number;
}

/**
 * The request and limit of a flexible session on this platform, from its /context
 * (`defaultRequest`/`defaultLimit`); without one, CANFAR's (1 core / 4 GB requested, up to 8 / 32).
 */
export function flexibleResources(context?: SkahaContext): FlexibleResources {
  return {
    requestCores: context?.cores.defaultRequest ?? 1,
    requestRamGB: context?.memoryGB.defaultRequest ?? 4,
    limitCores: context?.cores.defaultLimit ?? 8,
    limitRamGB: context?.memoryGB.defaultLimit ?? 32,
  };
}
