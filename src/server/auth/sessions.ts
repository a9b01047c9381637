// Browser sessions: a login exchanges a token for an opaque random session id (the `kt_session` cookie)
// kept here, server-side, with its expiry and CSRF token. A session ends at logout, when it expires, or
// when the token it was opened with is revoked or replaced.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Session {
  /** Name of the token the session was opened with. */
  tokenName: string;
  /** Hash of that token, so that a replaced token ends its sessions. */
  tokenSha256: string;
  csrfToken: string;
  created: number;
  expires: number;
}

const key = (id: string) => createHash('sha256').update(id).digest('hex');

export class SessionStore {
  // Keyed by a hash of the session id, so that the map holds no usable secret.
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly ttlMs: number) {}

  create(tokenName: string, tokenSha256: string, now = Date.now()): { id: string; session: Session } {
    this.sweep(now);
    const id = randomBytes(32).toString('base64url');
    const session: Session = {
      tokenName,
      tokenSha256,
      csrfToken: randomBytes(24).toString('base64url'),
      created: now,
      expires: now + this.ttlMs,
    };
    this.sessions.set(key(id), session);
    return { id, session };
  }

  get(id: string, now = Date.now()): Session | undefined {
    const k = key(id);
    const s = this.sessions.get(k);
    if (!s) return undefined;
    if (s.expires <= now) {
      this.sessions.delete(k);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(key(id));
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(now: number): void {
    for (const [k, s] of this.sessions) if (s.expires <= now) this.sessions.delete(k);
  }
}

/** Compares a presented CSRF token with the session's in constant time. */
export function csrfMatches(session: Session, presented: string | undefined): boolean {
  if (!presented) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
