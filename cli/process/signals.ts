/**
 * How a CLI process is told to stop: SIGINT (Ctrl-C) or SIGTERM. Modules never listen for signals
 * themselves; they take an AbortSignal, and the command that runs them aborts it.
 */

/** Resolves on the first SIGINT or SIGTERM, or when `signal` aborts; listens from the moment it is called. */
export function untilStopped(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = () => {
      process.off('SIGINT', finish);
      process.off('SIGTERM', finish);
      signal?.removeEventListener('abort', finish);
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
    if (signal?.aborted) finish();
    else signal?.addEventListener('abort', finish, { once: true });
  });
}

/** An AbortSignal aborted by the first SIGINT or SIGTERM; listens from the moment it is called. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  void untilStopped().then(() => controller.abort());
  return controller.signal;
}
