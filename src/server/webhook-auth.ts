// Who may post to the audit webhook, and which cluster their events belong to. With no credentials
// configured only loopback clients are accepted; otherwise every client needs a bearer token (compared
// by SHA-256, in constant time) or a client certificate verified against the configured CA.
//
// The loopback exception must not let a web page write to the trail: a page in a browser on this machine
// is a loopback client too. So a request without credentials is accepted only when nothing marks it as
// sent by a browser: no `Origin` header (browsers send it on every cross-origin POST), `Sec-Fetch-Site`
// absent or `none`, a `Host` that names the loopback interface (a page whose DNS name was rebound to
// 127.0.0.1 still sends its own name) and the content type `application/json`, which a browser cannot
// send cross-origin without a CORS preflight (that this server never grants). Content types a page can
// send without a preflight (text/plain, forms, none) are accepted only with a bearer token, which a
// browser never attaches by itself (it may attach a client certificate, so certificates do not count).
// docs/security.md states the rule.
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

const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])(:\d{1,5})?$/i;

/** True when a Host header names the loopback interface (localhost, 127.x.x.x, [::1]), with any port. */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && LOOPBACK_HOST.test(host);
}

/** The content types the API server's webhook client sends (audit.k8s.io/v1 and v1beta1 alike). */
const JSON_TYPE = /^application\/json\s*(;|$)/i;
/** JSON lines: not what the API server sends, accepted from clients with credentials. */
const JSON_LINES_TYPE = /^application\/(x-ndjson|jsonl|x-jsonlines)\s*(;|$)/i;
/** What a web page can post without a CORS preflight, read as JSON only with a bearer token. */
const PLAIN_TYPE = /^text\/plain\s*(;|$)/i;

/**
 * Whether a webhook body of this content type is accepted from a client authenticated this way;
 * undefined when it is, else the reason (answered with 415).
 */
export function contentTypeRefusal(
  type: string | undefined,
  via: WebhookIdentity['via'],
): string | undefined {
  const shown = type === undefined ? 'no content type' : `content type ${JSON.stringify(type.slice(0, 100))}`;
  if (type !== undefined && JSON_TYPE.test(type)) return undefined;
  if (via === 'loopback')
    return `${shown} is not accepted without credentials; send application/json (a web page cannot send it cross-origin)`;
  if (type !== undefined && JSON_LINES_TYPE.test(type)) return undefined;
  if (via === 'token' && (type === undefined || PLAIN_TYPE.test(type))) return undefined;
  return `${shown} is not accepted; send application/json`;
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
    /** The Host, Origin and Sec-Fetch-Site headers, which decide whether the loopback exception applies. */
    host?: string | undefined;
    origin?: string | undefined;
    secFetchSite?: string | undefined;
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
    if (!this.required && isLoopback(req.remoteAddress)) {
      const browser =
        req.origin !== undefined
          ? 'it carries an Origin header (it was sent by a web page)'
          : req.secFetchSite !== undefined && req.secFetchSite !== 'none'
            ? `it carries Sec-Fetch-Site: ${JSON.stringify(req.secFetchSite.slice(0, 40))} (it was sent by a web page)`
            : !isLoopbackHost(req.host)
              ? `its Host header ${req.host === undefined ? 'is missing' : `${JSON.stringify(req.host.slice(0, 100))} does not name the loopback interface`}`
              : undefined;
      if (browser === undefined) return { via: 'loopback' };
      return {
        status: 403,
        error: new KubetrailError(
          'KT_FORBIDDEN',
          `a loopback client may post without credentials only when nothing marks the request as sent by a browser, and ${browser}`,
          {
            hint: 'post from a program to http://127.0.0.1:PORT/webhook, or configure webhook.tokens and send a bearer token',
          },
        ),
      };
    }
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
