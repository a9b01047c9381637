// Serves the web UI (built by `vite build` into dist/ui) at `/`: hashed assets under /assets/ (cached for
// good), index.html for the client-side routes (the SPA fallback), and the security headers of every
// page: a strict Content-Security-Policy (no inline scripts, no framing), X-Content-Type-Options and
// X-Frame-Options. The page itself holds no data: everything it shows comes from the authenticated API.
// It also answers every path no route serves: a browser asking for a page gets the UI (status 404; the
// UI says there is no such page), everything else the documented JSON error (KT_NOT_FOUND).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { KubetrailError } from '../core/errors.js';

/** Client-side routes answered with index.html (the router in ui/src/router.tsx handles them). */
export const UI_ROUTES = [
  '/',
  '/login',
  '/dashboard',
  '/explore',
  '/events/*',
  '/objects',
  '/identity',
  '/alerts',
  '/live',
  '/policy',
];

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

/** Finds dist/ui from the source tree (src/server) or the built package (dist/src/server). */
export function uiDirectory(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'dist', 'ui');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (existsSync(path.join(dir, 'package.json'))) break;
    dir = path.dirname(dir);
  }
  return undefined;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

/** Paths that are never pages of the UI: an unknown path under them is answered with a JSON error. */
const NOT_PAGES = ['/api', '/webhook', '/assets', '/metrics', '/healthz', '/readyz', '/favicon.svg'];

/** A browser navigating to a page (not a script, an API client or a probe). */
function wantsPage(req: FastifyRequest, p: string): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  if (NOT_PAGES.some((prefix) => p === prefix || p.startsWith(`${prefix}/`))) return false;
  return /\btext\/html\b/i.test(String(req.headers.accept ?? ''));
}

/** The answer to a path no route serves, in the documented error shape. */
export function notFoundError(method: string, url: string): KubetrailError {
  const p = url.split('?')[0]!;
  const shown = JSON.stringify(p.length > 200 ? `${p.slice(0, 200)}…` : p);
  const api = p === '/api' || p.startsWith('/api/');
  return new KubetrailError('KT_NOT_FOUND', `no route answers ${method} ${shown}`, {
    hint: api
      ? 'docs/api.md describes every endpoint; GET /api/openapi.json lists their paths and methods'
      : 'the web UI is at /, the HTTP API under /api/v1 (docs/api.md), the audit webhook at /webhook/CLUSTER',
  });
}

/**
 * Fastify's own refusals before any route runs (a path that is not valid percent-encoding, `/%zz`), in
 * the documented error shape instead of fastify's. Given to Fastify as its `frameworkErrors` option.
 */
export function frameworkError(
  err: Error & { code?: string },
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const p = req.url.split('?')[0]!;
  const shown = JSON.stringify(p.length > 200 ? `${p.slice(0, 200)}…` : p);
  const e =
    err.code === 'FST_ERR_BAD_URL'
      ? new KubetrailError('KT_API_REQUEST', `the path ${shown} is not valid URL encoding`, {
          hint: 'a % in a path must be followed by two hex digits (%25 for a % itself)',
        })
      : new KubetrailError('KT_API_REQUEST', err.message);
  return secure(reply)
    .code(400)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: e.toJSON() });
}

function sendNotFound(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return secure(reply)
    .code(404)
    .header('content-type', 'application/json; charset=utf-8')
    .header('cache-control', 'no-store')
    .send({ error: notFoundError(req.method, req.url).toJSON() });
}

/** Registers the UI on the server; `root` overrides where the built UI is (tests). */
export async function registerUi(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = opts.root ?? uiDirectory();
  if (!root || !existsSync(path.join(root, 'index.html'))) {
    app.setNotFoundHandler(async (req, reply) => sendNotFound(req, reply));
    // Without a built UI the API still works; the page says how to build it.
    for (const route of UI_ROUTES) {
      app.get(route, async (_req, reply) =>
        secure(reply)
          .code(503)
          .header('content-type', 'text/plain; charset=utf-8')
          .send('The web UI is not built. Run `npm run build`, then restart kubetrail.\n'),
      );
    }
    return;
  }
  const index = readFileSync(path.join(root, 'index.html'));
  const sendIndex = async (_req: unknown, reply: FastifyReply) =>
    secure(reply)
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(index);
  for (const route of UI_ROUTES) app.get(route, sendIndex);
  app.setNotFoundHandler(async (req, reply) => {
    const p = req.url.split('?')[0]!;
    if (wantsPage(req, p)) return sendIndex(req, reply.code(404));
    return sendNotFound(req, reply);
  });

  await app.register(async (assets) => {
    // A file the static server refuses (a dotfile, a path that climbs out, a malformed name) is, to the
    // client, a file that does not exist: the same 404 as any unknown path, never a server-side detail.
    assets.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
      if (err.statusCode !== undefined && err.statusCode < 500) return sendNotFound(req, reply);
      throw err;
    });
    await assets.register(fastifyStatic, {
      root: path.join(root, 'assets'),
      prefix: '/assets/',
      decorateReply: false,
      index: false,
      dotfiles: 'ignore',
      immutable: true,
      maxAge: '365d',
      setHeaders: (res) => {
        res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
        res.setHeader('x-content-type-options', 'nosniff');
        res.setHeader('x-frame-options', 'DENY');
      },
    });
  });
  const favicon = path.join(root, 'favicon.svg');
  if (existsSync(favicon)) {
    const icon = readFileSync(favicon);
    app.get('/favicon.svg', async (_req, reply) =>
      secure(reply)
        .header('content-type', 'image/svg+xml')
        .header('cache-control', 'max-age=86400')
        .send(icon),
    );
  }
}
