/** Something the process opened and must close: idempotent, awaited in order. */
export interface Closable {
  name: string;
  close(): Promise<void>;
}

/** Closes each resource in the order given (HTTP, workers, queue, database), even if one fails. */
export async function closeInOrder(resources: Closable[], onError: (name: string, error: unknown) => void): Promise<void> {
  for (const resource of resources) {
    try {
      await resource.close();
    } catch (error) {
      onError(resource.name, error);
    }
  }
}

/** Wraps `close` so calling it again returns the first call's promise. */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | null = null;
  return () => {
    closing ??= close();
    return closing;
  };
}

/**
 * On SIGTERM or SIGINT: run `shutdown`, then exit 0; exit 1 if it fails or
 * takes longer than `timeoutMs`.
 */
export function exitOnSignals(shutdown: () => Promise<void>, log: (message: string) => void, timeoutMs = 10_000): void {
  const handle = (signal: NodeJS.Signals) => {
    log(`${signal} received, shutting down`);
    const timer = setTimeout(() => {
      log(`shutdown took longer than ${timeoutMs} ms, exiting`);
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        log(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handle);
  process.once('SIGINT', handle);
}
