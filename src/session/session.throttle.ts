/** Counts wrong sign-ins per client and says how long a client must wait. */
export interface FailureThrottle {
  /** Seconds the client must wait before trying again; 0 when it may try now. */
  blockedFor(client: string): number;
  fail(client: string): void;
  forget(client: string): void;
}

interface Window {
  startedAt: number;
  failures: number;
}

/**
 * A fixed window per client, kept in this process only (a guess at a strong token stays
 * hopeless; this just makes a flood of guesses cheap to refuse). At most `maxClients` windows
 * are kept: the oldest is dropped first, so the map never grows without bound.
 */
export function createFailureThrottle(options: { maxFailures: number; windowMs: number; now: () => number; maxClients?: number }): FailureThrottle {
  const { maxFailures, windowMs, now } = options;
  const maxClients = options.maxClients ?? 10_000;
  const windows = new Map<string, Window>();

  function current(client: string): Window | undefined {
    const window = windows.get(client);
    if (window && now() - window.startedAt >= windowMs) {
      windows.delete(client);
      return undefined;
    }
    return window;
  }

  return {
    blockedFor(client) {
      const window = current(client);
      if (!window || window.failures < maxFailures) return 0;
      return Math.max(1, Math.ceil((window.startedAt + windowMs - now()) / 1000));
    },
    fail(client) {
      const window = current(client);
      if (window) {
        window.failures += 1;
        return;
      }
      if (windows.size >= maxClients) windows.delete(windows.keys().next().value as string);
      windows.set(client, { startedAt: now(), failures: 1 });
    },
    forget(client) {
      windows.delete(client);
    },
  };
}
