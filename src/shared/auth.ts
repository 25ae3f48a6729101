import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError } from './http-errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without the API token (health, docs, the UI's files, the session endpoints). Default: closed. */
    public?: boolean;
  }
}

/** A way in (the Bearer token, the UI's session cookie): true when it recognises the request. */
export type Authenticator = (request: FastifyRequest) => boolean | Promise<boolean>;

/** Whether a request may use the closed routes: always, when no API token is configured. */
export interface ApiAuth {
  required: boolean;
  authenticate(request: FastifyRequest): Promise<boolean>;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Compares a candidate with the token in constant time (hashing first makes the lengths equal). */
export function tokenMatcher(token: string): (candidate: string) => boolean {
  const expected = digest(token);
  return (candidate) => timingSafeEqual(digest(candidate), expected);
}

/** `Authorization: Bearer <token>`, the scheme in any letter case (RFC 9110 §11.1). */
export function bearerTokenAuthenticator(token: string): Authenticator {
  const matches = tokenMatcher(token);
  return (request) => {
    const header = request.headers.authorization;
    const credentials = typeof header === 'string' ? /^bearer[ \t]+(.+)$/i.exec(header)?.[1] : undefined;
    return credentials !== undefined && matches(credentials.trim());
  };
}

/** The token (when configured) and any further authenticators, tried in order. */
export function createApiAuth(apiToken: string | null, extra: Authenticator[] = []): ApiAuth {
  if (apiToken === null) return { required: false, authenticate: async () => true };
  const authenticators = [bearerTokenAuthenticator(apiToken), ...extra];
  return {
    required: true,
    async authenticate(request) {
      for (const authenticate of authenticators) if (await authenticate(request)) return true;
      return false;
    },
  };
}

/**
 * Deny by default, decided on the route the router matched (never on the URL text, which
 * the router decodes and normalises differently): every route needs the token unless its
 * options say `config: { public: true }`. Requests that matched no route run no handler and
 * are answered 404/405 without the token: those answers show nothing the public OpenAPI
 * document does not.
 */
export function installApiAuth(app: FastifyInstance, auth: ApiAuth): void {
  if (!auth.required) return;
  app.addHook('onRequest', async (request) => {
    if (request.is404 || request.routeOptions.config.public === true) return;
    if (await auth.authenticate(request)) return;
    throw new HttpError(401, 'Missing or invalid API token: send Authorization: Bearer <token>', {
      'www-authenticate': 'Bearer',
    });
  });
}
