// Generic HTTP: each batch is POSTed to the URL as NDJSON (application/x-ndjson), one line per event:
// {"cluster", "contentHash", "event"}. A 2xx answer delivers the batch; 408, 429, 5xx, 401 and 403 are
// retried (Retry-After honoured); any other answer dead-letters the batch.
import { forwarderHeaders, HttpClient, networkError, retryAfterMs } from '../http.js';
import type { ResolvedForwarder } from '../spec.js';
import {
  outcomeOfStatus,
  retryAll,
  type Destination,
  type ForwardRecord,
  type SendOutcome,
} from '../types.js';

/** One NDJSON line of the generic HTTP and file forwarders. */
export function ndjsonLine(r: ForwardRecord): string {
  return `${JSON.stringify({ cluster: r.cluster, contentHash: r.hash, event: r.event })}\n`;
}

export class HttpDestination implements Destination {
  private readonly http: HttpClient;

  constructor(
    private readonly def: ResolvedForwarder,
    private readonly url: URL,
  ) {
    this.http = new HttpClient({ timeoutMs: def.config.timeoutMs, ...(def.ca ? { ca: def.ca } : {}) });
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const a = await this.http.request(
      'POST',
      this.url,
      { 'content-type': 'application/x-ndjson', ...forwarderHeaders(this.def) },
      batch.map(ndjsonLine).join(''),
    );
    if (a.status === 0) return retryAll(batch, networkError(a));
    return outcomeOfStatus(batch, a.status, a.body, retryAfterMs(a.headers));
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
