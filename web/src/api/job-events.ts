import type { JobProgressEvent } from './types';

const EVENT_TYPES = ['progress', 'completed', 'failed', 'cancelled'];

export interface JobEventHandlers {
  /** Each state the stream sends; `terminal` for its last one (completed, failed or cancelled). */
  onEvent(job: JobProgressEvent, terminal: boolean): void;
  /** The browser stopped reconnecting (e.g. a 401 or 404): the job must be read another way. */
  onGaveUp(): void;
}

/**
 * Follows a job's Server-Sent Events (GET /api/progress/{id}; the session cookie authenticates
 * it). The browser reconnects by itself after a dropped connection and the server then sends the
 * current state at once; the stream is closed at its terminal event, or the browser would
 * reconnect to a finished stream. Returns the function that stops following.
 */
export function followJobEvents(jobId: string, handlers: JobEventHandlers): () => void {
  const source = new EventSource(`/api/progress/${encodeURIComponent(jobId)}`);
  const onMessage = (event: MessageEvent<string>) => {
    const terminal = event.type !== 'progress';
    if (terminal) source.close();
    handlers.onEvent(JSON.parse(event.data) as JobProgressEvent, terminal);
  };
  for (const type of EVENT_TYPES) source.addEventListener(type, onMessage as EventListener);
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) handlers.onGaveUp();
  };
  return () => source.close();
}
