// The HTTP API (`/api/...`): registers every area's routes behind authentication and role checks, answers
// errors as `{"error":{"code","message","hint","where"}}`, records each authenticated request in the
// access log, and serves its own OpenAPI description (docs/api.openapi.json) at /api/openapi.json.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { KubetrailError, isKubetrailError } from '../../core/errors.js';
import { requireSession } from '../auth/index.js';
import { registerAggregateRoutes } from './aggregate.js';
import { registerAlertRoutes } from './alerts.js';
import { sendError, type ApiContext, type Guard } from './common.js';
import { registerEventRoutes } from './events.js';
import { registerExportRoutes } from './export.js';
import { registerGapRoutes } from './gaps.js';
import { registerIntegrityRoutes } from './integrity.js';
import { registerLocalRoutes } from './local.js';
import { registerObjectRoutes } from './objects.js';
import { registerPolicyRoutes } from './policy.js';
import { registerRbacRoutes } from './rbac.js';
import { registerSessionRoutes } from './session.js';

export type { ApiContext, ChainState, Guard, IntegrityApi, RuleInfo } from './common.js';

/** A registered API route, with its path in OpenAPI form (`/api/v1/events/{auditID}`). */
export interface ApiRoute {
  method: string;
  path: string;
}

/** Finds docs/api.openapi.json from the source tree or the built package. */
export function openApiFile(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, 'docs', 'api.openapi.json');
    if (existsSync(f)) return f;
    dir = path.dirname(dir);
  }
  throw new KubetrailError('KT_INTERNAL', 'docs/api.openapi.json is missing from the installation');
}

/** Registers the API on the server; resolves to the list of routes registered. */
export async function registerApi(app: FastifyInstance, ctx: ApiContext): Promise<ApiRoute[]> {
  const routes: ApiRoute[] = [];
  await app.register(async (api) => {
    api.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods) {
        if (m === 'HEAD') continue;
        routes.push({ method: m.toLowerCase(), path: r.url.replace(/:([A-Za-z]+)/g, '{$1}') });
      }
    });
    api.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      if (isKubetrailError(err)) return sendError(reply, err);
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || err.statusCode === 413)
        return sendError(reply, new KubetrailError('KT_BODY_TOO_LARGE', 'the body is too large'));
      if (err.statusCode && err.statusCode < 500)
        return sendError(reply, new KubetrailError('KT_API_REQUEST', err.message));
      ctx.logger.error({ err: err.message, path: req.url.split('?')[0] }, 'API request failed');
      return sendError(reply, new KubetrailError('KT_INTERNAL', 'internal error'));
    });
    api.addHook('onSend', async (_req, reply, payload) => {
      reply.header('x-content-type-options', 'nosniff');
      if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
      return payload;
    });
    api.addHook('onResponse', async (req, reply) => {
      const user = req.kubetrailUser;
      const p = req.url.split('?')[0]!;
      if (!user || p === '/api/v1/stream') return;
      const q = (req.query as Record<string, unknown> | undefined)?.q;
      ctx.auth.accessLog.write({
        user: user.name,
        role: user.role,
        method: req.method,
        path: p,
        ...(typeof q === 'string' && q !== '' ? { q } : {}),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
        ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
      });
    });

    const guard: Guard = (roles) => ({
      preHandler: requireSession(ctx.auth, roles ? { roles } : {}),
    });
    registerSessionRoutes(api, ctx, guard);
    registerEventRoutes(api, ctx, guard);
    registerAggregateRoutes(api, ctx, guard);
    registerObjectRoutes(api, ctx, guard);
    registerAlertRoutes(api, ctx, guard);
    registerPolicyRoutes(api, ctx, guard);
    registerGapRoutes(api, ctx, guard);
    registerIntegrityRoutes(api, ctx, guard);
    registerExportRoutes(api, ctx, guard);
    registerRbacRoutes(api, ctx, guard);
    registerLocalRoutes(api, ctx);

    let doc: string | undefined;
    api.get('/api/openapi.json', guard(), async (_req, reply) => {
      doc ??= readFileSync(openApiFile(), 'utf8');
      return reply.header('content-type', 'application/json; charset=utf-8').send(doc);
    });
  });
  return routes;
}
