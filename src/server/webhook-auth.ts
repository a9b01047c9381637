// Who may post to the audit webhook, and which cluster their events belong to. With no credentials
// configured only loopback clients are accepted; otherwise every client needs a bearer token (compared
// by SHA-256, in constant time) or a client certificate verified against the configured CA.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Config } from '../config/schema.js';
import { KubetrailError } from '../core/errors.js';

export interface WebhookIdentity {
  /** The cluster the credentials are bound to, if any. */
  cluster?: string;
  via: 'loopback' | 'token' | 'certificate';
}

interface TokenEntry {
  hash: Buffer;
  cluster: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

export class WebhookAuth {
  private readonly tokens: TokenEntry[];
  readonly certificates: boolean;

  constructor(config: Config, env: NodeJS.ProcessEnv = process.env) {
    this.tokens = config.webhook.tokens.map((t, i) => {
      let hash: Buffer;
      if (t.tokenSha256) hash = Buffer.from(t.tokenSha256, 'hex');
      else if (t.tokenEnv) {
        const v = env[t.tokenEnv];
        if (!v)
          throw new KubetrailError('KT_CONFIG_INVALID', `environment variable ${t.tokenEnv} is not set`, {
            where: { path: `webhook.tokens[${i}].tokenEnv` },
          });
        hash = sha256(v);
      } else hash = sha256(t.token!);
      return { hash, cluster: t.cluster };
    });
    this.certificates = Boolean(config.tls?.clientCA);
    this.clusterFromCertificate = config.webhook.clusterFromCertificate;
  }

  private readonly clusterFromCertificate: boolean;

  /** True when any credential is configured (then loopback alone is not enough). */
  get required(): boolean {
    return this.tokens.length > 0 || this.certificates;
  }

  /** Decides a request: an identity, or an error with the HTTP status to answer. */
  check(req: {
    authorization: string | undefined;
    remoteAddress: string | undefined;
    socket: unknown;
  }): WebhookIdentity | { status: 401 | 403; error: KubetrailError } {
    const auth = req.authorization;
    if (auth !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      if (!m)
        return {
          status: 401,
          error: new KubetrailError('KT_AUTH_REQUIRED', 'the Authorization header is not "Bearer TOKEN"'),
        };
      const h = sha256(m[1]!);
      // Compare against every entry so the time taken does not tell which one matched.
      let found: TokenEntry | undefined;
      for (const t of this.tokens) if (timingSafeEqual(t.hash, h) && !found) found = t;
      if (found) return { cluster: found.cluster, via: 'token' };
      return { status: 401, error: new KubetrailError('KT_AUTH_REQUIRED', 'the bearer token is not valid') };
    }
    const tls = req.socket as Partial<TLSSocket>;
    if (this.certificates && tls.authorized === true && typeof tls.getPeerCertificate === 'function') {
      const cert = tls.getPeerCertificate();
      const cn = typeof cert?.subject?.CN === 'string' ? cert.subject.CN : undefined;
      return {
        via: 'certificate',
        ...(this.clusterFromCertificate && cn ? { cluster: cn } : {}),
      };
    }
    if (!this.required && isLoopback(req.remoteAddress)) return { via: 'loopback' };
    return {
      status: 401,
      error: new KubetrailError(
        'KT_AUTH_REQUIRED',
        this.required
          ? 'a bearer token or a client certificate is required'
          : 'only loopback clients may post without credentials; configure webhook.tokens or tls.clientCA',
      ),
    };
  }
}
