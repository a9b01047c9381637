// The HTTP client the destinations share: one POST (or GET) with a timeout, an optional CA bundle for
// TLS, keep-alive connections, and the answer's status, headers and body (cut to 1 MiB). Network
// failures (refused, reset, timed out) come back as `{ status: 0, error }`, never as a throw.
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The body's bytes (cut to 1 MiB). */
  raw: Buffer;
  /** Set when no answer came (status 0). */
  error?: string;
}

export interface HttpClientOptions {
  timeoutMs: number;
  ca?: Buffer;
}

const MAX_BODY = 1024 * 1024;

const failed = (err: Error): HttpAnswer => ({
  status: 0,
  headers: {},
  body: '',
  raw: Buffer.alloc(0),
  error: err.message,
});

export class HttpClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly opts: HttpClientOptions) {
    this.httpsAgent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
  }

  request(
    method: 'GET' | 'POST',
    url: URL,
    headers: Record<string, string>,
    body?: Buffer | string,
  ): Promise<HttpAnswer> {
    return new Promise((resolve) => {
      const secure = url.protocol === 'https:';
      const lib = secure ? https : http;
      let settled = false;
      const done = (a: HttpAnswer) => {
        if (settled) return;
        settled = true;
        resolve(a);
      };
      const req = lib.request(
        url,
        {
          method,
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: {
            ...headers,
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
          timeout: this.opts.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < MAX_BODY) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            const raw = Buffer.concat(chunks).subarray(0, MAX_BODY);
            done({ status: res.statusCode ?? 0, headers: res.headers, body: raw.toString('utf8'), raw });
          });
          res.on('error', (err) => done(failed(err)));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      req.on('error', (err) => done(failed(err)));
      req.end(body);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** The delay a Retry-After header asks for (seconds or an HTTP date), in ms, capped at 10 minutes. */
export function retryAfterMs(headers: http.IncomingHttpHeaders): number | undefined {
  const v = headers['retry-after'];
  if (typeof v !== 'string' || v === '') return undefined;
  const secs = Number(v);
  const ms = Number.isFinite(secs) ? secs * 1000 : Date.parse(v) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(0, ms), 600_000) : undefined;
}

/** The outcome of a request that got no answer. */
export function networkError(a: HttpAnswer): string {
  return `no answer: ${a.error ?? 'connection closed'}`;
}

/** The headers every request of a forwarder carries: its extra headers and its credentials. */
export function forwarderHeaders(def: {
  config: { headers?: Record<string, string> | undefined };
  authorization: string | undefined;
}): Record<string, string> {
  return {
    ...(def.config.headers ?? {}),
    ...(def.authorization ? { authorization: def.authorization } : {}),
  };
}

/** A path under a base URL: `/_bulk` under https://host/prefix/ is https://host/prefix/_bulk. */
export function under(base: URL, suffix: string): URL {
  const u = new URL(base.href);
  u.pathname = `${base.pathname.replace(/\/+$/, '')}${suffix}`;
  return u;
}
