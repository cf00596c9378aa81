// Internal (not exported from src/skaha/index.ts): the wait between polls and retries, shared by the
// replica loop here and the Node-side pollers (the CLI's --follow, the notebook's watch and logs -f).

/**
 * Resolves after `ms`, or as soon as `signal` aborts (at once when it already has): an interrupted
 * wait is never an error, the caller checks the signal and stops.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
