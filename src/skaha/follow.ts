import type { SkahaClient } from './client';
import { SkahaError } from './errors';
import { abortableSleep } from './sleep';
import type { SessionStatus } from './types';

const ENDED: ReadonlySet<SessionStatus> = new Set(['Completed', 'Failed', 'Error']);

export interface FollowLogOptions {
  /** Between reads (default 1000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * A session's log as it is written, until the session ends (`tail -f`). The service has no offset or
 * follow: each read returns the whole log, and only the part not seen before is yielded. The status is
 * read before the log, so that once the session has ended the last read holds the log's last line. A
 * queued session has no pod, hence no log to ask for yet; a session that disappears (deleted, cleaned up)
 * ends the stream.
 */
export async function* followLog(
  client: Pick<SkahaClient, 'get' | 'logs'>,
  id: string,
  options: FollowLogOptions = {},
): AsyncGenerator<string> {
  let seen = '';
  for (;;) {
    let ended = false;
    let queued = false;
    try {
      const status = (await client.get(id)).status;
      ended = ENDED.has(status);
      queued = status === 'Pending';
    } catch (error) {
      if (!(error instanceof SkahaError && error.code === 'not-found')) throw error;
      ended = true;
    }
    const text = queued ? seen : await client.logs(id);
    // A log that no longer starts with what was seen was replaced (a restarted pod): emit it whole.
    const fresh = text.startsWith(seen) ? text.slice(seen.length) : text;
    seen = text;
    if (fresh) yield fresh;
    if (ended || options.signal?.aborted) return;
    await abortableSleep(options.intervalMs ?? 1000, options.signal);
  }
}
