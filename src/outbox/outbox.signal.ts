/**
 * Tells the webhook dispatcher of this process that there is new work: events were
 * committed to the outbox, or a delivery was scheduled. Call `notify()` after the
 * commit, never inside the transaction. Other processes' work is found by the
 * dispatcher's poll, so a missed notification only delays, never loses, a delivery.
 */
export interface OutboxSignal {
  notify(): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: () => void): () => void;
}

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
