/**
 * Tells the webhook dispatchers that there is new work: events were committed to the
 * outbox, or a delivery was scheduled. Call `notify()` after the commit, never inside the
 * transaction. It wakes this process's dispatcher at once and, when the back-end carries
 * notifications between processes (Redis in scaled mode), every other process's too; a
 * missed notification only delays a delivery until the dispatcher's poll, never loses it.
 */
export interface OutboxSignal {
  notify(): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
}

/** A signal with the connections of its back-end, which `close()` ends. */
export interface OutboxSignalBackend extends OutboxSignal {
  close(): Promise<void>;
}

/** Within this process only. */
export function createOutboxSignal(): OutboxSignal {
  const listeners = new Set<() => void>();
  return {
    notify() {
      for (const listener of listeners) listener();
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
