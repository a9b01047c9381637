// Authentication for the HTTP API and the web UI: a bearer token (`Authorization: Bearer TOKEN`) or the
// session cookie `kt_session` opened by a login. Requests authenticated by the cookie that change state
// must carry the session's `X-CSRF-Token`. `requireSession` is the fastify preHandler that guards a route.
// Failed token checks (logins and bearer headers) are limited per address and per presented token
// (rate-limit.ts); a valid token or session is never refused for what others failed.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { KubetrailError } from '../../core/errors.js';
import type { DataKey } from '../../crypto/cipher.js';
import { AccessLog } from './access-log.js';
import { FailureLimiter } from './rate-limit.js';
import { csrfMatches, SessionStore } from './sessions.js';
import { sha256Hex, TokenStore, type Role, type TokenRecord } from './tokens.js';
import type { Principal } from './scope.js';

export type { Principal } from './scope.js';
export { TokenStore, ROLES, type Role, type TokenRecord, type TokenInfo } from './tokens.js';

export const SESSION_COOKIE = 'kt_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface AuthOptions {
  dataDir: string;
  /** Session lifetime in hours. */
  sessionHours: number;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** Whether the server speaks HTTPS (cookies are then marked Secure). */
  secure: boolean;
  onLogError?: (message: string) => void;
  /** The data key: the filters in the access log are sealed with it. */
  key?: DataKey;
}

/** An authentication failure with the status to answer. */
export class AuthFailure extends KubetrailError {
  constructor(
    readonly status: 401 | 403 | 429,
    code: 'KT_AUTH_REQUIRED' | 'KT_FORBIDDEN' | 'KT_RATE_LIMITED',
    message: string,
    hint?: string,
    readonly retryAfter?: number,
  ) {
    super(code, message, hint ? { hint } : {});
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, set by requireSession. */
    kubetrailUser?: Principal;
  }
}

/** Parses a Cookie header into name/value pairs (first occurrence wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name in out) continue;
    try {
      out[name] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      out[name] = part.slice(eq + 1).trim();
    }
  }
  return out;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function principalOf(t: TokenRecord, via: 'token' | 'session'): Principal {
  return {
    name: t.name,
    role: t.role,
    bodies: t.bodies,
    via,
    ...(t.scope !== undefined ? { scope: t.scope } : {}),
    ...(t.cluster !== undefined ? { cluster: t.cluster } : {}),
  };
}

export class ApiAuth {
  readonly tokens: TokenStore;
  readonly sessions: SessionStore;
  readonly limiter: FailureLimiter;
  readonly accessLog: AccessLog;

  constructor(readonly opts: AuthOptions) {
    this.tokens = TokenStore.forDataDir(opts.dataDir);
    this.sessions = new SessionStore(opts.sessionHours * 3_600_000);
    this.limiter = new FailureLimiter(opts.loginMaxFailures, opts.loginWindowSeconds * 1000);
    this.accessLog = new AccessLog(
      `${this.tokens.file.slice(0, -'tokens.json'.length)}access.log`,
      opts.onLogError,
      opts.key,
    );
  }

  private noTokens(): AuthFailure {
    return new AuthFailure(
      401,
      'KT_AUTH_REQUIRED',
      'no API token exists yet, so the API and the web UI are closed',
      'create one on the server: kubetrail token create --role admin (add --data-dir DIR when the server uses another data directory)',
    );
  }

  /**
   * Checks a presented token (a login, or a bearer header); returns its record, or throws an AuthFailure.
   * A valid token is accepted whatever failed before it. A token that is not valid counts a failure under
   * its address and under its own hash; once either has `loginMaxFailures` failures within the window,
   * failed attempts are answered 429 with Retry-After instead of 401.
   */
  private check(token: string, address: string, what: 'login' | 'bearer'): TokenRecord {
    if (!this.tokens.any) throw this.noTokens();
    const t = this.tokens.verify(token);
    if (t) return t;
    const keys = [`addr:${address}`, `cred:${sha256Hex(token).slice(0, 32)}`];
    const wait = Math.max(...keys.map((k) => this.limiter.retryAfter(k)));
    for (const k of keys) this.limiter.fail(k);
    if (wait > 0)
      throw new AuthFailure(
        429,
        'KT_RATE_LIMITED',
        what === 'login'
          ? 'too many failed logins from this address or with this token'
          : 'too many invalid bearer tokens from this address or with this token',
        `try again in ${wait} s; a valid token is accepted at any time`,
        wait,
      );
    throw new AuthFailure(
      401,
      'KT_AUTH_REQUIRED',
      what === 'login' ? 'the token is not valid' : 'the bearer token is not valid',
    );
  }

  /** Checks a login attempt from an address; returns the token's record, or throws an AuthFailure. */
  login(token: string, address: string): TokenRecord {
    return this.check(token, address, 'login');
  }

  /** Identifies the caller of a request; throws an AuthFailure (never for a route's own role rules). */
  authenticate(req: FastifyRequest): Principal {
    const address = req.socket.remoteAddress ?? '';
    const header = req.headers.authorization;
    if (header !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m)
        throw new AuthFailure(401, 'KT_AUTH_REQUIRED', 'the Authorization header is not "Bearer TOKEN"');
      return principalOf(this.check(m[1]!, address, 'bearer'), 'token');
    }
    const id = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (id) {
      const s = this.sessions.get(id);
      const t = s ? this.tokens.get(s.tokenName) : undefined;
      if (!s || !t || t.sha256 !== s.tokenSha256) {
        if (s) this.sessions.delete(id);
        throw new AuthFailure(401, 'KT_AUTH_REQUIRED', 'the session has ended; log in again');
      }
      if (STATE_CHANGING.has(req.method) && !csrfMatches(s, headerText(req.headers[CSRF_HEADER])))
        throw new AuthFailure(
          403,
          'KT_FORBIDDEN',
          'this request changes state and needs the X-CSRF-Token header of the session',
          'send the csrfToken from /api/v1/login or /api/v1/me in the X-CSRF-Token header',
        );
      return { ...principalOf(t, 'session'), csrfToken: s.csrfToken, sessionId: id };
    }
    if (!this.tokens.any) throw this.noTokens();
    throw new AuthFailure(
      401,
      'KT_AUTH_REQUIRED',
      'authentication is required: send "Authorization: Bearer TOKEN" or log in',
    );
  }

  /** The Set-Cookie value opening a session. */
  sessionCookie(id: string): string {
    const maxAge = Math.round(this.opts.sessionHours * 3600);
    return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${this.opts.secure ? '; Secure' : ''}`;
  }

  /** The Set-Cookie value ending a session. */
  clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.opts.secure ? '; Secure' : ''}`;
  }

  /** The webhook identity of a bearer token from the token file (ingest and admin tokens), if it is one. */
  webhookToken(authorization: string | undefined): { cluster?: string } | undefined {
    if (!authorization) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m || !this.tokens.any) return undefined;
    const t = this.tokens.verify(m[1]!);
    if (!t || (t.role !== 'ingest' && t.role !== 'admin')) return undefined;
    return t.cluster !== undefined ? { cluster: t.cluster } : {};
  }
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function sendFailure(reply: FastifyReply, f: AuthFailure): FastifyReply {
  if (f.retryAfter !== undefined) reply.header('retry-after', String(f.retryAfter));
  if (f.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply
    .code(f.status)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: f.toJSON() });
}

export interface RequireOptions {
  /** Roles allowed (default: every role but ingest). */
  roles?: readonly Role[];
  /** For pages: redirect an unauthenticated browser here (with `?next=PATH`) instead of answering 401. */
  redirectTo?: string;
}

/**
 * A fastify preHandler that lets a request through only with a valid bearer token or session (and, for
 * cookie-authenticated requests that change state, the CSRF header); sets `request.kubetrailUser`.
 */
export function requireSession(auth: ApiAuth, opts: RequireOptions = {}) {
  const roles = opts.roles ?? (['admin', 'analyst', 'viewer'] as const);
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    let p: Principal;
    try {
      p = auth.authenticate(req);
    } catch (err) {
      if (!(err instanceof AuthFailure)) throw err;
      if (opts.redirectTo && err.status === 401 && req.method === 'GET') {
        return reply.redirect(`${opts.redirectTo}?next=${encodeURIComponent(req.url)}`, 302);
      }
      return sendFailure(reply, err);
    }
    req.kubetrailUser = p;
    if (!roles.includes(p.role)) {
      return sendFailure(
        reply,
        new AuthFailure(
          403,
          'KT_FORBIDDEN',
          p.role === 'ingest'
            ? 'an ingest token may only post to the webhook'
            : `this needs the ${roles.join(' or ')} role; the token ${JSON.stringify(p.name)} has the ${p.role} role`,
        ),
      );
    }
    return undefined;
  };
}

export { sendFailure };
