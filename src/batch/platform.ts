import type { SkahaClient } from '../skaha';
import type { PlatformInfo } from './types';

/**
 * What planning checks against, fetched in parallel: /context, /repository, the images (all kinds, so
 * that an image listed for other kinds only is refused) and the caller's sessions (names in use). The image list and the session list are optional extras: when
 * the platform cannot give them, planning goes on without those checks.
 */
export async function fetchPlatformInfo(client: SkahaClient, signal?: AbortSignal): Promise<PlatformInfo> {
  const [context, repositories, images, sessions] = await Promise.all([
    client.context(),
    client.repositories(),
    client.images().catch(() => undefined),
    client.list({ type: 'headless' }).catch(() => undefined),
  ]);
  signal?.throwIfAborted();
  return { context, repositories, ...(images ? { images } : {}), ...(sessions ? { sessions } : {}) };
}
