import type { FastifyInstance } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './http-errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses state-changing requests that a page of another site made a browser send (CSRF):
 * with no token configured, or with the UI's cookie, the browser would otherwise act for its
 * user. Browsers always say where such a request comes from (`Origin`, `Sec-Fetch-Site`);
 * clients that send neither (curl, servers) are not browsers acting for someone and pass.
 *
 * Also drops Fastify's `text/plain` body parser: `text/plain` is one of the types a cross-site
 * form may send without a CORS preflight, so JSON routes answer it with 415.
 */
export function installCrossSiteCheck(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addHook('onRequest', async (request) => {
    if (SAFE_METHODS.has(request.method)) return;
    const reason = crossSiteReason(request.headers);
    if (reason) throw new HttpError(403, `Refused a ${request.method} from another site: ${reason}.`);
  });
}

/** Why the request comes from another site, or null when it does not (or does not say). */
export function crossSiteReason(headers: IncomingHttpHeaders): string | null {
  const fetchSite = headers['sec-fetch-site'];
  // same-site is another origin too (a sibling subdomain); the UI is same-origin.
  if (fetchSite === 'cross-site' || fetchSite === 'same-site') return `Sec-Fetch-Site is ${fetchSite}`;
  const origin = headers.origin;
  if (origin === undefined) return null;
  return isOwnOrigin(origin, headers.host) ? null : 'its Origin is not this server';
}

/**
 * Whether `Origin` names the host the request was sent to (the Host header; a proxy in front
 * must pass it on). The scheme is not compared, as a TLS-terminating proxy makes it differ;
 * ports are, with the Origin's scheme giving the default one. `null` and garbage are foreign.
 */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const from = new URL(origin);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    return new URL(`${from.protocol}//${host}`).host === from.host;
  } catch {
    return false;
  }
}
