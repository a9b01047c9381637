// Grafana Loki: the push API (POST /loki/api/v1/push, JSON: {streams: [{stream: labels, values:
// [[ns, line]]}]}), as documented for Loki 2.x and 3.x. The label set is small and fixed so that the
// number of streams stays bounded: cluster, verb, resource, namespace and code_class (2xx, 3xx, 4xx,
// 5xx or none), plus job="kubetrail". The line is the event as JSON; the timestamp is the stage time in
// nanoseconds (microsecond precision, as the API server writes it). A tenant goes in X-Scope-OrgID.
import { forwarderHeaders, HttpClient, networkError, retryAfterMs, under } from '../http.js';
import type { ResolvedForwarder } from '../spec.js';
import {
  outcomeOfStatus,
  retryAll,
  type Destination,
  type ForwardRecord,
  type SendOutcome,
} from '../types.js';

export const LOKI_LABELS = ['cluster', 'verb', 'resource', 'namespace', 'code_class'] as const;

/** The Loki labels of an event. */
export function lokiLabels(r: ForwardRecord): Record<string, string> {
  const code = r.event.responseStatus?.code;
  return {
    job: 'kubetrail',
    cluster: r.cluster,
    verb: r.event.verb ?? '',
    resource: r.event.objectRef?.resource ?? '',
    namespace: r.event.objectRef?.namespace ?? '',
    code_class:
      typeof code === 'number' && code >= 100 && code < 600 ? `${Math.floor(code / 100)}xx` : 'none',
  };
}

/** An RFC 3339 time with up to nanoseconds as a decimal string of nanoseconds since the epoch. */
export function nanos(time: string | undefined): string {
  const ms = Date.parse(time ?? '');
  if (!Number.isFinite(ms)) return `${Date.now()}000000`;
  const frac = /\.(\d+)/.exec(time ?? '')?.[1] ?? '';
  const sub = (frac.slice(3) + '000000').slice(0, 6); // digits below the millisecond
  return `${BigInt(ms) * 1000000n + BigInt(sub)}`;
}

export class LokiDestination implements Destination {
  private readonly http: HttpClient;
  private readonly url: URL;

  constructor(
    private readonly def: ResolvedForwarder,
    base: URL,
  ) {
    this.http = new HttpClient({ timeoutMs: def.config.timeoutMs, ...(def.ca ? { ca: def.ca } : {}) });
    this.url = base.pathname.endsWith('/loki/api/v1/push') ? base : under(base, '/loki/api/v1/push');
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const streams = new Map<string, { stream: Record<string, string>; values: [string, string][] }>();
    for (const r of batch) {
      const labels = lokiLabels(r);
      const key = JSON.stringify(labels);
      let s = streams.get(key);
      if (!s) streams.set(key, (s = { stream: labels, values: [] }));
      s.values.push([
        nanos(r.event.stageTimestamp ?? r.event.requestReceivedTimestamp),
        JSON.stringify(r.event),
      ]);
    }
    const a = await this.http.request(
      'POST',
      this.url,
      {
        'content-type': 'application/json',
        ...(this.def.config.tenant ? { 'x-scope-orgid': this.def.config.tenant } : {}),
        ...forwarderHeaders(this.def),
      },
      JSON.stringify({ streams: [...streams.values()] }),
    );
    if (a.status === 0) return retryAll(batch, networkError(a));
    return outcomeOfStatus(batch, a.status, a.body, retryAfterMs(a.headers));
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
