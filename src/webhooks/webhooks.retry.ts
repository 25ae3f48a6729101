// When a failed attempt is tried again. With the defaults (WEBHOOK_BACKOFF_BASE_MS=5000,
// WEBHOOK_MAX_ATTEMPTS=8) the delays are about 5 s, 30 s, 3 min, 18 min, 1.8 h, 10 h, 10 h:
// roughly a day of retries, like the well-known providers' schedules.

export const BACKOFF_FACTOR = 6;
export const MAX_RETRY_DELAY_MS = 10 * 60 * 60 * 1000;
/** Each delay is spread ±20% so endpoints that failed together are not retried together. */
const JITTER = 0.2;

/** The delay after failed attempt number `attempt` (1-based). */
export function retryDelayMs(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const exponential = baseMs * BACKOFF_FACTOR ** (attempt - 1);
  const jittered = exponential * (1 - JITTER + 2 * JITTER * random());
  return Math.round(Math.min(jittered, MAX_RETRY_DELAY_MS));
}

/** A Retry-After header (seconds or an HTTP date) as a delay in ms, capped; null when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return null;
  const trimmed = value.trim();
  const delay = /^\d+$/.test(trimmed) ? Number(trimmed) * 1000 : Date.parse(trimmed) - now;
  if (!Number.isFinite(delay)) return null;
  return Math.min(Math.max(delay, 0), MAX_RETRY_DELAY_MS);
}

/** The next attempt's delay: the backoff, or longer when the endpoint asked for it. */
export function nextDelayMs(attempt: number, baseMs: number, requestedMs: number | null): number {
  return Math.max(retryDelayMs(attempt, baseMs), requestedMs ?? 0);
}
