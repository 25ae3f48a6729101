import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { tokenMatcher, type Authenticator } from '../shared/auth.js';
import { HttpError } from '../shared/http-errors.js';
import { createFailureThrottle, type FailureThrottle } from './session.throttle.js';

export const SESSION_COOKIE = 'pi_session';
const VERSION = 'v1';
const COOKIE_SHAPE = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

export interface SessionSettings {
  apiToken: string | null;
  ttlHours: number;
  /** Milliseconds since the epoch; tests move it. */
  now?: () => number;
  throttle?: FailureThrottle;
}

export interface SessionService {
  /** Whether there is anything to sign in to (an API token is configured). */
  readonly required: boolean;
  readonly ttlSeconds: number;
  /**
   * Trades the token for a session cookie value; null when no token is configured.
   * A wrong token is a 401, and too many wrong ones from one client a 429.
   */
  signIn(token: string, client: string): string | null;
  /** Recognises a request carrying a valid, unexpired session cookie. */
  authenticator: Authenticator;
}

/**
 * Stateless sessions: the cookie is `v1.<expiry>.<HMAC-SHA256(key, "v1.<expiry>")>` with a key
 * derived from API_TOKEN, so every API process verifies it alike, nobody can make one without
 * the token, and the cookie never carries the token itself. Changing API_TOKEN ends them all.
 */
export function createSessionService(settings: SessionSettings): SessionService {
  const now = settings.now ?? Date.now;
  const ttlSeconds = settings.ttlHours * 3600;
  const throttle = settings.throttle ?? createFailureThrottle({ maxFailures: 10, windowMs: 15 * 60_000, now });
  const { apiToken } = settings;
  if (apiToken === null) {
    return { required: false, ttlSeconds, signIn: () => null, authenticator: () => false };
  }
  const key = createHmac('sha256', apiToken).update('product-importer session key v1').digest();
  const mac = (expiry: string) => createHmac('sha256', key).update(`${VERSION}.${expiry}`).digest();
  const tokenMatches = tokenMatcher(apiToken);

  function isValid(value: string): boolean {
    const parts = COOKIE_SHAPE.exec(value);
    if (!parts) return false;
    const [, expiry = '', signature = ''] = parts;
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== 32 || !timingSafeEqual(given, mac(expiry))) return false;
    return Number(expiry) * 1000 > now();
  }

  return {
    required: true,
    ttlSeconds,
    signIn(token, client) {
      const retryAfter = throttle.blockedFor(client);
      if (retryAfter > 0) {
        throw new HttpError(429, 'Too many wrong tokens from this address; try again later.', { 'retry-after': String(retryAfter) });
      }
      if (!tokenMatches(token)) {
        throttle.fail(client);
        throw new HttpError(401, 'Wrong token.');
      }
      throttle.forget(client);
      const expiry = String(Math.floor(now() / 1000) + ttlSeconds);
      return `${VERSION}.${expiry}.${mac(expiry).toString('base64url')}`;
    },
    authenticator(request: FastifyRequest) {
      const value = request.cookies?.[SESSION_COOKIE];
      return typeof value === 'string' && isValid(value);
    },
  };
}
