// Login, logout and "who am I" (`/api/v1/login`, `/api/v1/logout`, `/api/v1/me`), and token management
// for admins (`/api/v1/tokens`). A login exchanges a token for the `kt_session` cookie and a CSRF token.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import { AuthFailure, sendFailure } from '../auth/index.js';
import { ROLES } from '../auth/tokens.js';
import type { Principal } from '../auth/scope.js';
import { jsonBody, userOf, validate, type ApiContext, type Guard } from './common.js';

const loginBody = z.strictObject({ token: z.string().min(1, { error: 'must not be empty' }).max(4096) });

/** A login body holds one token (at most 4096 characters): anything much larger is refused unread. */
export const LOGIN_MAX_BYTES = 8192;

function loginTooLarge(): KubetrailError {
  return new KubetrailError('KT_BODY_TOO_LARGE', `a login body is larger than ${LOGIN_MAX_BYTES} bytes`, {
    hint: 'send {"token": "…"} with only the API token that `kubetrail token create` printed (as the login form does)',
  });
}

const createTokenBody = z.strictObject({
  role: z.enum(ROLES),
  name: z.string().optional(),
  scope: z.string().optional(),
  bodies: z.boolean().optional(),
  cluster: z.string().optional(),
});

function userJson(p: Principal) {
  return { name: p.name, role: p.role, scope: p.scope ?? null, bodies: p.role !== 'viewer' || p.bodies };
}

export function registerSessionRoutes(app: FastifyInstance, ctx: ApiContext, guard: Guard): void {
  const { auth } = ctx;

  const loginLimits = {
    bodyLimit: LOGIN_MAX_BYTES,
    errorHandler: (err: Error & { statusCode?: number; code?: string }) => {
      const large =
        err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ||
        err.statusCode === 413 ||
        (err instanceof KubetrailError && err.code === 'KT_BODY_TOO_LARGE');
      throw large ? loginTooLarge() : err;
    },
  };
  app.post('/api/v1/login', loginLimits, async (req, reply) => {
    const body = validate(loginBody, jsonBody(req, LOGIN_MAX_BYTES), 'field');
    let record;
    try {
      record = auth.login(body.token, req.socket.remoteAddress ?? '');
    } catch (err) {
      if (err instanceof AuthFailure) return sendFailure(reply, err);
      throw err;
    }
    const { id, session } = auth.sessions.create(record.name, record.sha256);
    const user: Principal = {
      name: record.name,
      role: record.role,
      bodies: record.bodies,
      via: 'session',
      csrfToken: session.csrfToken,
      ...(record.scope !== undefined ? { scope: record.scope } : {}),
    };
    req.kubetrailUser = user;
    if (record.role === 'ingest') {
      auth.sessions.delete(id);
      return sendFailure(
        reply,
        new AuthFailure(403, 'KT_FORBIDDEN', 'an ingest token may only post to the webhook'),
      );
    }
    return reply
      .header('set-cookie', auth.sessionCookie(id))
      .header('cache-control', 'no-store')
      .send({ user: userJson(user), csrfToken: session.csrfToken });
  });

  app.post('/api/v1/logout', guard(), async (req, reply) => {
    const user = userOf(req);
    if (user.sessionId) auth.sessions.delete(user.sessionId);
    return reply.header('set-cookie', auth.clearCookie()).send({ ok: true });
  });

  app.get('/api/v1/me', guard(), async (req, reply) => {
    const user = userOf(req);
    return reply
      .header('cache-control', 'no-store')
      .send({ ...userJson(user), csrfToken: user.csrfToken ?? null });
  });

  // --- token management (admin)
  app.get('/api/v1/tokens', guard(['admin']), async () => ({ tokens: auth.tokens.list() }));

  app.post('/api/v1/tokens', guard(['admin']), async (req, reply) => {
    const body = validate(createTokenBody, jsonBody(req, 16384), 'field');
    const { token, record } = auth.tokens.create({
      role: body.role,
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.scope !== undefined ? { scope: body.scope } : {}),
      ...(body.bodies !== undefined ? { bodies: body.bodies } : {}),
      ...(body.cluster !== undefined ? { cluster: body.cluster } : {}),
    });
    const { sha256: _h, ...info } = record;
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ token, ...info });
  });

  app.delete('/api/v1/tokens/:name', guard(['admin']), async (req) => {
    const { name } = req.params as { name: string };
    if (!auth.tokens.revoke(name))
      throw new KubetrailError('KT_NOT_FOUND', `no token is named ${JSON.stringify(name)}`, {
        where: { path: 'name' },
      });
    return { ok: true };
  });
}
