import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

/** Another way in (the UI's session cookie, later): true when it recognises the request. */
export type Authenticator = (request: FastifyRequest) => boolean | Promise<boolean>;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A Bearer token check in constant time (hashing first makes the lengths equal). */
export function bearerTokenAuthenticator(token: string): Authenticator {
  const expected = digest(token);
  return (request) => {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(header.slice('Bearer '.length).trim()), expected);
  };
}

/**
 * When an API token is configured, every /api/* request must satisfy one of the
 * authenticators (the token first); the rest (health, docs, UI files) stays open.
 */
export function installApiAuth(app: FastifyInstance, apiToken: string | null, extra: Authenticator[] = []): void {
  if (apiToken === null) return;
  const authenticators = [bearerTokenAuthenticator(apiToken), ...extra];
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/api/')) return;
    for (const authenticate of authenticators) if (await authenticate(request)) return;
    throw new HttpError(401, 'Missing or invalid API token: send Authorization: Bearer <token>', {
      'www-authenticate': 'Bearer',
    });
  });
}
