/** What a pass is asked to do. */
export interface PassRequest {
  /** New outbox events may be waiting (a notification, the poll, a failed pass): fan them out before claiming. */
  fanOut: boolean;
  /** Aborted when the scheduler closes: the pass stops at its next step. */
  stopping: AbortSignal;
}

export interface SchedulerOptions {
  /** One dispatch pass; never two at once. A rejection is reported and the next pass fans out again. */
  pass: (request: PassRequest) => Promise<void>;
  /** Subscribes to the outbox signal; returns the function that unsubscribes. */
  subscribe: (listener: () => void) => () => void;
  /** Safety net for work no notification announced (other processes, due retries, expired leases). */
  pollIntervalMs: number;
  onError: (message: string, error: unknown) => void;
}

export interface DispatchScheduler {
  start(): void;
  /** New events may be waiting: the next pass fans out, then claims. Coalesced: many calls, one pass. */
  wakeForEvents(): void;
  /** Slots were freed or a retry fell due: the next pass only claims. Coalesced like `wakeForEvents`. */
  wake(): void;
  /** A pass at `time` (ms since the epoch) for a due retry of ours, unless an earlier one is already set. */
  wakeAt(time: number): void;
  /** No pass starts from now on; resolves when the running one has ended. */
  close(): Promise<void>;
}

/** Margin after a retry's due time, so that the claim's `next_attempt_at <= now` holds when the timer fires. */
const WAKE_AT_MARGIN_MS = 5;

/**
 * When the webhook dispatcher looks for work: at start, on outbox notifications, on
 * every poll, when a send frees a slot, and when a retry of ours falls due. Wake-ups are
 * coalesced into one pass on the next turn of the event loop, and a wake-up during a pass
 * runs one more pass after it, so passes never overlap and none is lost. It knows nothing
 * of databases or HTTP: the pass is given.
 */
export function createDispatchScheduler(options: SchedulerOptions): DispatchScheduler {
  const { pass, subscribe, pollIntervalMs, onError } = options;
  const stopping = new AbortController();
  let started = false;
  let wakeQueued = false;
  let eventsMayWait = true;
  let passRunning: Promise<void> | null = null;
  let passAgain = false;
  let pollTimer: NodeJS.Timeout | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let retryTimerAt = Infinity;
  let unsubscribe: () => void = () => undefined;
  const closed = () => stopping.signal.aborted;

  function wakeForEvents(): void {
    eventsMayWait = true;
    wake();
  }

  function wake(): void {
    if (closed() || wakeQueued) return;
    wakeQueued = true;
    setImmediate(() => {
      wakeQueued = false;
      runPasses();
    });
  }

  function runPasses(): void {
    if (closed()) return;
    if (passRunning) {
      passAgain = true;
      return;
    }
    passRunning = (async () => {
      do {
        passAgain = false;
        const fanOut = eventsMayWait;
        eventsMayWait = false;
        try {
          await pass({ fanOut, stopping: stopping.signal });
        } catch (error) {
          eventsMayWait = true;
          onError('a dispatch pass failed (the next poll retries)', error);
          break;
        }
      } while (passAgain && !closed());
    })().finally(() => {
      passRunning = null;
    });
  }

  function wakeAt(time: number): void {
    if (closed() || time >= retryTimerAt) return;
    if (retryTimer) clearTimeout(retryTimer);
    retryTimerAt = time;
    retryTimer = setTimeout(
      () => {
        retryTimer = null;
        retryTimerAt = Infinity;
        wake();
      },
      Math.max(0, time - Date.now()) + WAKE_AT_MARGIN_MS,
    );
    retryTimer.unref();
  }

  return {
    start() {
      if (closed() || started) return;
      started = true;
      unsubscribe = subscribe(wakeForEvents);
      pollTimer = setInterval(wakeForEvents, pollIntervalMs);
      pollTimer.unref();
      wake();
    },
    wakeForEvents,
    wake,
    wakeAt,
    async close() {
      stopping.abort();
      unsubscribe();
      if (pollTimer) clearInterval(pollTimer);
      if (retryTimer) clearTimeout(retryTimer);
      await passRunning;
    },
  };
}
