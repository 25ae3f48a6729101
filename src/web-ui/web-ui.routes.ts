import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/**
 * The paths the single-page app answers itself (its router's routes, and anything below them for
 * views that add sub-paths). Other unknown paths stay 404 so that a typo in an API client or a
 * stale link is reported as such instead of silently showing the app.
 */
export const APP_ROUTES = ['/', '/import', '/import/*', '/products', '/products/*', '/webhooks', '/webhooks/*', '/sign-in'];

const NOT_BUILT_MESSAGE =
  'The web UI is not built yet. Run `npm run build` (which `npm start` does for you) and restart the server; the API at /api and its docs at /docs work without it.';

/** One year, in the milliseconds `send` expects: hashed file names change whenever their content does. */
const ONE_YEAR_MS = 365 * 24 * 60 * 60 * 1000;

export interface WebUiOptions {
  /** The Vite build output (`web/dist`): index.html and assets/. Null when the app has no UI to serve. */
  distDir: string | null;
}

/**
 * Serves the built web app: index.html (never cached, so a new deploy is picked up at once) for the
 * app's routes, and the hashed files under /assets/ (cached for a year, precompressed copies when the
 * client accepts them). All of it is public: the app itself decides, from GET /api/session, whether
 * to show its sign-in page.
 */
export const webUiRoutes: FastifyPluginAsync<WebUiOptions> = async (app, { distDir }) => {
  const indexFile = distDir ? path.join(distDir, 'index.html') : null;
  const built = indexFile !== null && fs.existsSync(indexFile);

  // Everything this plugin serves is public (contract: the UI's files need no token), including
  // the routes @fastify/static adds, which take no route config of their own.
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, public: true };
  });

  if (built && distDir) {
    await app.register(fastifyStatic, {
      root: path.join(distDir, 'assets'),
      prefix: '/assets/',
      index: false,
      list: false,
      dotfiles: 'deny',
      preCompressed: true,
      cacheControl: true,
      maxAge: ONE_YEAR_MS,
      immutable: true,
      decorateReply: false,
    });
  }

  const answerApp = async (reply: FastifyReply) => {
    if (!built || indexFile === null) {
      return reply.code(503).header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(NOT_BUILT_MESSAGE);
    }
    // Read per request (it is ~1 KB): a rebuild while the server runs is served at once.
    const html = await fs.promises.readFile(indexFile);
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(html);
  };

  for (const url of APP_ROUTES) {
    app.get(url, { config: { public: true }, schema: { hide: true } }, (_request, reply) => answerApp(reply));
  }
};
