import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { ApiAuth } from '../shared/auth.js';
import { SessionStatus, SignIn } from './session.schemas.js';
import { SESSION_COOKIE, type SessionService } from './session.service.js';

const tags = ['session'];
const error = Type.Ref('ErrorResponse');
const noContent = (description: string) => Type.Null({ description });
// Public: these are how a browser gets in, so they cannot require being in.
const config = { public: true };

function cookieOptions(request: FastifyRequest) {
  return { httpOnly: true, sameSite: 'strict', path: '/', secure: request.protocol === 'https' } as const;
}

function clearSession(request: FastifyRequest, reply: FastifyReply) {
  return reply.clearCookie(SESSION_COOKIE, cookieOptions(request));
}

/** The web UI's sign-in: trades the API token for an HttpOnly session cookie (stateless, see session.service). */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionService; auth: ApiAuth }> = async (app, { sessions, auth }) => {
  app.get(
    '/api/session',
    {
      config,
      schema: {
        tags,
        summary: 'Whether a token is required, and whether this client is signed in',
        security: [],
        response: { 200: SessionStatus },
      },
    },
    async (request) => ({ auth_required: auth.required, authenticated: await auth.authenticate(request) }),
  );

  app.post(
    '/api/session',
    {
      config,
      schema: {
        tags,
        summary: 'Sign in: trade the API token for a session cookie',
        description: [
          `Right token: 204 with \`Set-Cookie: ${SESSION_COOKIE}=…; HttpOnly; SameSite=Strict; Path=/\` (plus \`Secure\` over HTTPS),`,
          'valid for SESSION_TTL_HOURS. The cookie authenticates every route the token does; it is signed with a key derived',
          'from API_TOKEN (not the token itself), so changing API_TOKEN ends every session.',
          'No token configured: 204 without a cookie. Wrong token: 401; 10 wrong tokens from one address within 15 minutes: 429',
          'with `Retry-After`. Refused from another site (403, see the cross-site rule).',
        ].join(' '),
        security: [],
        body: SignIn,
        response: { 204: noContent('Signed in (or nothing to sign in to).'), 401: error, 403: error, 415: error, 422: Type.Ref('ValidationErrorResponse'), 429: error },
      },
    },
    async (request, reply) => {
      const value = sessions.signIn(request.body.token, request.ip);
      if (value !== null) reply.setCookie(SESSION_COOKIE, value, { ...cookieOptions(request), maxAge: sessions.ttlSeconds });
      return reply.code(204).send(null);
    },
  );

  app.delete(
    '/api/session',
    {
      config,
      schema: {
        tags,
        summary: 'Sign out: clear the session cookie',
        description: 'Clears the cookie in this browser. Sessions are stateless: a copied cookie stays valid until it expires or API_TOKEN changes.',
        security: [],
        response: { 204: noContent('Signed out.'), 403: error },
      },
    },
    async (request, reply) => clearSession(request, reply).code(204).send(null),
  );
};
