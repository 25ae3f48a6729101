import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

type HelmetSettings = FastifyHelmetOptions;
type Directives = Record<string, string[]>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** This route's own security headers (@fastify/helmet reads them here), e.g. the docs pages' CSP. */
    helmet?: HelmetSettings;
  }
}

/**
 * The web UI and the API: only our own scripts, styles, images and connections; no inline
 * script, no plugins, never framed. `upgrade-insecure-requests` is left out on purpose: the
 * server often runs over plain HTTP on a LAN, where upgrading its own assets would break them.
 */
const APP_CSP: Directives = {
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'"],
};

/**
 * Swagger UI and ReDoc: still no inline or foreign script, but both put `<style>` elements in the
 * page at run time ('unsafe-inline' styles), and ReDoc runs its search in a blob: worker.
 */
const DOCS_CSP: Directives = {
  ...APP_CSP,
  'style-src': ["'self'", "'unsafe-inline'"],
  'img-src': ["'self'", 'data:', 'blob:'],
  'worker-src': ["'self'", 'blob:'],
};

function settings(directives: Directives): HelmetSettings {
  return {
    contentSecurityPolicy: { useDefaults: false, directives },
    // HSTS belongs to whatever terminates TLS; the app cannot tell whether it is behind one.
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  };
}

/** The docs pages' header settings, for their routes' `config.helmet`. */
export const DOCS_SECURITY_HEADERS = settings(DOCS_CSP);

/**
 * Security headers (nosniff, CSP, frame-ancestors / X-Frame-Options, Referrer-Policy, …) on every
 * response, errors included: register before any hook that may answer early (auth).
 */
export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, settings(APP_CSP));
}
