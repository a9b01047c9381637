// Serves the web UI (built by `vite build` into dist/ui) at `/`: hashed assets under /assets/ (cached for
// good), index.html for the client-side routes (the SPA fallback), and the security headers of every
// page: a strict Content-Security-Policy (no inline scripts, no framing), X-Content-Type-Options and
// X-Frame-Options. The page itself holds no data: everything it shows comes from the authenticated API.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';

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

/** Registers the UI on the server; `root` overrides where the built UI is (tests). */
export async function registerUi(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = opts.root ?? uiDirectory();
  if (!root || !existsSync(path.join(root, 'index.html'))) {
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

  await app.register(fastifyStatic, {
    root: path.join(root, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    dotfiles: 'deny',
    immutable: true,
    maxAge: '365d',
    setHeaders: (res) => {
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('x-frame-options', 'DENY');
    },
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
