import type { ServerResponse } from 'node:http';
import type { ProgressBus } from './jobs.progress-bus.js';
import type { Job } from './jobs.schemas.js';
import type { JobsService } from './jobs.service.js';
import { isFinished } from './jobs.view.js';

export interface ProgressStreamOptions {
  /** A comment line this often keeps proxies from closing an idle stream. */
  heartbeatMs?: number;
  /** How often the jobs table is read too, in case an update on the bus was lost. */
  pollMs?: number;
}

/** A job's SSE stream, subscribed and with its first state read, not yet attached to a response. */
export interface PendingProgressStream {
  attach(response: ServerResponse, headers: Record<string, string>): void;
  /** For an open that is given up before attach. */
  discard(): Promise<void>;
}

export interface ProgressStreams {
  /** Throws NotFoundError for an unknown job (before anything is written). */
  open(jobId: string, lastEventId: string | undefined): Promise<PendingProgressStream>;
  /** Ends every open stream and every one attached later (server shutdown); clients reconnect and get the current state. */
  closeAll(): void;
}

function sameProgress(a: Job, b: Job): boolean {
  return (
    a.status === b.status &&
    a.phase === b.phase &&
    a.bytes_processed === b.bytes_processed &&
    a.rows_processed === b.rows_processed &&
    a.rows_total === b.rows_total
  );
}

/**
 * The SSE streams of job progress (API.md): the job as it is now at once, then each
 * update from the progress bus (every ~200 ms while it changes), each with an
 * increasing id; `event: progress`, then exactly one `completed|failed|cancelled`,
 * after which the stream ends. The jobs table is read every `pollMs` as well, so a
 * lost bus message delays an update but never loses the terminal event.
 */
export function createProgressStreams(jobs: JobsService, bus: ProgressBus, options: ProgressStreamOptions = {}): ProgressStreams {
  const { heartbeatMs = 15_000, pollMs = 1000 } = options;
  const open = new Set<() => void>();
  /** Set by closeAll: a stream that finishes opening after it ends at once. */
  let closing = false;

  return {
    async open(jobId, lastEventId) {
      const pending: Job[] = [];
      let deliver: (job: Job) => void = (job) => pending.push(job);
      // Subscribe before reading, so no update between the read and the subscription is missed.
      const unsubscribe = await bus.subscribe(jobId, (job) => deliver(job));
      let first: Job;
      try {
        first = await jobs.get(jobId);
      } catch (error) {
        await unsubscribe();
        throw error;
      }
      const previousId = Number.parseInt(lastEventId ?? '', 10);
      let nextId = Number.isSafeInteger(previousId) && previousId >= 0 ? previousId + 1 : 1;

      return {
        discard: unsubscribe,
        attach(response, headers) {
          let ended = false;
          let last = first;
          let lastSentAt = 0;
          const timers: NodeJS.Timeout[] = [];

          const end = () => {
            if (ended) return;
            ended = true;
            open.delete(end);
            deliver = () => undefined;
            for (const timer of timers) clearInterval(timer);
            void unsubscribe().catch(() => undefined);
            if (!response.writableEnded) response.end();
          };
          const send = (job: Job) => {
            if (ended) return;
            const event = isFinished(job.status) ? job.status : 'progress';
            response.write(`id: ${nextId++}\nevent: ${event}\ndata: ${JSON.stringify({ ...job, message: jobs.message(job) })}\n\n`);
            last = job;
            lastSentAt = Date.now();
            if (event !== 'progress') end();
          };
          const poll = async () => {
            if (Date.now() - lastSentAt < pollMs) return;
            const job = await jobs.get(jobId).catch(() => null);
            if (job && (isFinished(job.status) || !sameProgress(job, last))) send(job);
          };

          // The client may have gone while the stream was opening ('close' was then emitted already).
          if (response.destroyed) return end();
          open.add(end);
          response.on('close', end);
          response.writeHead(200, {
            ...headers,
            'content-type': 'text/event-stream; charset=utf-8',
            'cache-control': 'no-cache, no-transform',
            connection: 'keep-alive',
            'x-accel-buffering': 'no',
          });
          response.write('retry: 2000\n\n');
          send(first);
          // Progress heard while the first state was read may be older than it; only an ending matters.
          for (const job of pending.splice(0)) if (isFinished(job.status)) send(job);
          // Nothing is armed for a stream that already ended (its first state was an ending) or
          // that finished opening after the server began shutting down.
          if (ended || closing) return end();
          deliver = send;
          timers.push(setInterval(() => void poll(), pollMs));
          timers.push(setInterval(() => !ended && response.write(': heartbeat\n\n'), heartbeatMs));
        },
      };
    },

    closeAll() {
      closing = true;
      for (const end of [...open]) end();
    },
  };
}
