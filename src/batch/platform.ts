import type { SkahaClient } from '../skaha';
import type { PlatformInfo } from './types';

/**
 * What planning checks against, fetched in parallel: /context, /repository, the images (all kinds, so
 * that an image listed for other kinds only is refused) and the caller's headless sessions (names in use;
 * also, while recent, the launch's baseline: see `SubmitOptions.baselineMaxAgeMs`). The image list and the
 * session list are optional extras: when the platform cannot give them, planning goes on without those checks.
 */
export async function fetchPlatformInfo(client: SkahaClient, signal?: AbortSignal): Promise<PlatformInfo> {
  // Taken before the request is sent: a session created after this moment may be missing from the list.
  const sessionsListedAt = new Date();
  const [context, repositories, images, sessions] = await Promise.all([
    client.context(),
    client.repositories(),
    client.images().catch(() => undefined),
    client.list({ type: 'headless' }).catch(() => undefined),
  ]);
  signal?.throwIfAborted();
  return {
    context,
    repositories,
    ...(images ? { images } : {}),
    ...(sessions ? { sessions, sessionsListedAt } : {}),
  };
}
