// Splunk HTTP Event Collector: POST /services/collector/event with `Authorization: Splunk TOKEN`, the
// batch as concatenated JSON event objects ({time, host, source, sourcetype, index, fields, event}).
// The default sourcetype is `kube:apiserver-audit`, the one Splunk's Kubernetes collection (Splunk
// Connect for Kubernetes, the Splunk OpenTelemetry Collector for Kubernetes) gives the API server's audit
// log. With `ack: true` (indexer acknowledgement on the token) every request carries the channel header
// X-Splunk-Request-Channel, the answer's ackId is polled on /services/collector/ack until Splunk says
// the events are indexed; a batch not acknowledged within ackTimeoutMs is sent again (at least once).
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { forwarderHeaders, HttpClient, networkError, retryAfterMs, under } from '../http.js';
import type { ResolvedForwarder } from '../spec.js';
import {
  outcomeOfStatus,
  retryAll,
  type Destination,
  type ForwardRecord,
  type SendOutcome,
} from '../types.js';

export const DEFAULT_SOURCETYPE = 'kube:apiserver-audit';

function eventTime(r: ForwardRecord): number | undefined {
  const t = Date.parse(r.event.stageTimestamp ?? r.event.requestReceivedTimestamp ?? '');
  // Microseconds are kept as far as a double holds them: seconds with 6 decimals.
  const micros = /\.(\d{6})/.exec(r.event.stageTimestamp ?? '')?.[1];
  if (!Number.isFinite(t)) return undefined;
  return micros ? Math.floor(t / 1000) + Number(micros) / 1e6 : t / 1000;
}

export class SplunkDestination implements Destination {
  private readonly http: HttpClient;
  private readonly eventUrl: URL;
  private readonly ackUrl: URL;
  private readonly channel = randomUUID();
  private readonly host = os.hostname();

  constructor(
    private readonly def: ResolvedForwarder,
    base: URL,
  ) {
    this.http = new HttpClient({ timeoutMs: def.config.timeoutMs, ...(def.ca ? { ca: def.ca } : {}) });
    const root = base.pathname.replace(/\/services\/collector(\/event)?\/?$/, '');
    const b = new URL(base.href);
    b.pathname = root;
    this.eventUrl = under(b, '/services/collector/event');
    this.ackUrl = under(b, '/services/collector/ack');
    this.ackUrl.searchParams.set('channel', this.channel);
  }

  private get headers(): Record<string, string> {
    return {
      ...forwarderHeaders(this.def),
      ...(this.def.config.ack ? { 'x-splunk-request-channel': this.channel } : {}),
    };
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const c = this.def.config;
    const body = batch
      .map((r) =>
        JSON.stringify({
          time: eventTime(r),
          host: this.host,
          source: c.source ?? 'kubetrail',
          sourcetype: c.sourcetype ?? DEFAULT_SOURCETYPE,
          ...(c.splunkIndex ? { index: c.splunkIndex } : {}),
          fields: { cluster: r.cluster, content_hash: r.hash },
          event: r.event,
        }),
      )
      .join('\n');
    const a = await this.http.request(
      'POST',
      this.eventUrl,
      { 'content-type': 'application/json', ...this.headers },
      body,
    );
    if (a.status === 0) return retryAll(batch, networkError(a));
    if (a.status === 400) {
      // One event HEC cannot read: it names it; that one is dead-lettered and the others sent again.
      const n = (JSON.parse(safeJson(a.body)) as { 'invalid-event-number'?: unknown })[
        'invalid-event-number'
      ];
      if (typeof n === 'number' && n >= 0 && n < batch.length) {
        return {
          dead: [{ index: n, error: `HTTP 400: ${a.body.slice(0, 300)}` }],
          retry: batch.map((_, i) => i).filter((i) => i !== n),
          retryError: 'resent after one event of the batch was refused',
        };
      }
    }
    if (a.status !== 200) return outcomeOfStatus(batch, a.status, a.body, retryAfterMs(a.headers));
    if (!c.ack) return { retry: [], dead: [] };
    const ackId = (JSON.parse(safeJson(a.body)) as { ackId?: unknown }).ackId;
    if (typeof ackId !== 'number')
      return retryAll(batch, 'HEC answered without an ackId: is indexer acknowledgement on for the token?');
    return (await this.waitForAck(ackId))
      ? { retry: [], dead: [] }
      : retryAll(batch, `ackId ${ackId} not acknowledged in time`);
  }

  /** Polls the ack endpoint until the ackId is acknowledged (true) or the ack timeout passes (false). */
  private async waitForAck(ackId: number): Promise<boolean> {
    const deadline = Date.now() + (this.def.config.ackTimeoutMs ?? 60_000);
    let delay = 100;
    while (Date.now() < deadline) {
      const a = await this.http.request(
        'POST',
        this.ackUrl,
        { 'content-type': 'application/json', ...this.headers },
        JSON.stringify({ acks: [ackId] }),
      );
      if (a.status === 200) {
        const acks = (JSON.parse(safeJson(a.body)) as { acks?: Record<string, unknown> }).acks;
        if (acks?.[String(ackId)] === true) return true;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 2000);
    }
    return false;
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function safeJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return '{}';
  }
}
