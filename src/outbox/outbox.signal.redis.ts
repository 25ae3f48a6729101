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
export async function createRedisOutboxSignal(url: string, prefix: string): Promise<OutboxSignalBackend> {
  const local = createOutboxSignal();
  const channel = `${prefix}:outbox`;
  const origin = randomUUID();
  const publisher = new Redis(url, { maxRetriesPerRequest: 3 });
  const subscriber = publisher.duplicate();
  // Connection problems are retried by ioredis and reported by /readyz; the poll covers the gap.
  publisher.on('error', () => undefined);
  subscriber.on('error', () => undefined);
  subscriber.on('message', (_channel: string, message: string) => {
    if (message !== origin) local.notify();
  });
  try {
    await subscriber.subscribe(channel);
  } catch (error) {
    subscriber.disconnect();
    publisher.disconnect();
    throw error;
  }
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
    close: once(async () => {
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    }),
  };
}
