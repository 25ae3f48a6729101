import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { once } from '../shared/shutdown.js';
import { createOutboxSignal, type OutboxSignalBackend } from './outbox.signal.js';

/**
 * Scaled mode: a notification wakes this process's listeners at once and is published on
 * one Redis channel, whose message wakes every other process's. Notifications of one
 * event-loop turn go out as one message (an import's many product writes cost one
 * publish, not one each); a process ignores its own messages, already delivered locally.
 */
export function createRedisOutboxSignal(url: string, prefix: string): OutboxSignalBackend {
  const local = createOutboxSignal();
  const channel = `${prefix}:outbox`;
  const origin = randomUUID();
  const publisher = new Redis(url, { maxRetriesPerRequest: 3 });
  // The subscription waits for Redis however long it takes (ioredis subscribes again after a
  // reconnect), so a process starts while Redis is down and /readyz says so.
  const subscriber = new Redis(url, { maxRetriesPerRequest: null });
  // Connection problems are retried by ioredis and reported by /readyz; the poll covers the gap.
  publisher.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  subscriber.on('message', (_channel: string, message: string) => {
    if (message !== origin) local.notify();
  });
  subscriber.subscribe(channel).catch(() => undefined);
  let publishQueued = false;
  return {
    notify() {
      local.notify();
      if (publishQueued) return;
      publishQueued = true;
      setImmediate(() => {
        publishQueued = false;
        void publisher.publish(channel, origin).catch(() => undefined);
      });
    },
    subscribe: (listener) => local.subscribe(listener),
    // Nothing to flush: a notification lost at shutdown only waits for a poll.
    close: once(async () => {
      subscriber.disconnect();
      publisher.disconnect();
    }),
  };
}
