// OpenTelemetry logs over OTLP/HTTP (specification 1.x; opentelemetry-proto v1.5.0 messages): POST
// /v1/logs with an ExportLogsServiceRequest, as protobuf (application/x-protobuf, the default) or JSON
// (application/json, OTLP/JSON: lowerCamelCase names, 64-bit integers as strings). One LogRecord per
// event: time = stage time (ns), observed time = now, severity from the response code (INFO, WARN for
// 4xx, ERROR for 5xx), body = the event as a key-value list, attributes k8s.cluster.name,
// k8s.namespace.name (when the object has one) and kubetrail.content_hash; resource service.name
// "kubetrail". Retryable answers per the specification: 429, 502, 503, 504 (and every 5xx, 408);
// others are dead-lettered. A partial success (rejectedLogRecords > 0) does not say which records were
// refused: the whole batch goes to the dead-letter file with the collector's message.
import { forwarderHeaders, HttpClient, networkError, retryAfterMs, under } from '../http.js';
import type { ResolvedForwarder } from '../spec.js';
import {
  deadAll,
  outcomeOfStatus,
  retryAll,
  type Destination,
  type ForwardRecord,
  type SendOutcome,
} from '../types.js';
import { nanos } from './loki.js';
import { decodeLogsResponse, encodeLogsRequest } from './otlp-proto.js';

type AnyValue = Record<string, unknown>;

/** A JSON value as an OTLP AnyValue (OTLP/JSON form). */
export function anyValue(v: unknown): AnyValue {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  if (Array.isArray(v)) return { arrayValue: { values: v.map(anyValue) } };
  if (v !== null && typeof v === 'object')
    return {
      kvlistValue: { values: Object.entries(v).map(([key, value]) => ({ key, value: anyValue(value) })) },
    };
  return {};
}

function severity(r: ForwardRecord): [number, string] {
  const code = r.event.responseStatus?.code;
  if (typeof code === 'number' && code >= 500) return [17, 'ERROR'];
  if (typeof code === 'number' && code >= 400) return [13, 'WARN'];
  return [9, 'INFO'];
}

/** The ExportLogsServiceRequest for a batch, in OTLP/JSON form. */
export function logsRequest(batch: readonly ForwardRecord[], now = Date.now()): Record<string, unknown> {
  const observed = `${BigInt(now) * 1000000n}`;
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'kubetrail' } }] },
        scopeLogs: [
          {
            scope: { name: 'kubetrail.audit' },
            logRecords: batch.map((r) => {
              const [severityNumber, severityText] = severity(r);
              const ns = r.event.objectRef?.namespace;
              return {
                timeUnixNano: nanos(r.event.stageTimestamp ?? r.event.requestReceivedTimestamp),
                observedTimeUnixNano: observed,
                severityNumber,
                severityText,
                body: anyValue(r.event),
                attributes: [
                  { key: 'k8s.cluster.name', value: { stringValue: r.cluster } },
                  ...(ns ? [{ key: 'k8s.namespace.name', value: { stringValue: ns } }] : []),
                  { key: 'kubetrail.content_hash', value: { stringValue: r.hash } },
                ],
              };
            }),
          },
        ],
      },
    ],
  };
}

export class OtlpDestination implements Destination {
  private readonly http: HttpClient;
  private readonly url: URL;
  private readonly protobuf: boolean;

  constructor(
    private readonly def: ResolvedForwarder,
    base: URL,
  ) {
    this.http = new HttpClient({ timeoutMs: def.config.timeoutMs, ...(def.ca ? { ca: def.ca } : {}) });
    this.url = base.pathname.endsWith('/v1/logs') ? base : under(base, '/v1/logs');
    this.protobuf = (def.config.encoding ?? 'protobuf') === 'protobuf';
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const request = logsRequest(batch);
    const body = this.protobuf ? Buffer.from(encodeLogsRequest(request)) : JSON.stringify(request);
    const type = this.protobuf ? 'application/x-protobuf' : 'application/json';
    const a = await this.http.request(
      'POST',
      this.url,
      { 'content-type': type, ...forwarderHeaders(this.def) },
      body,
    );
    if (a.status === 0) return retryAll(batch, networkError(a));
    if (a.status !== 200)
      return outcomeOfStatus(batch, a.status, this.protobuf ? '' : a.body, retryAfterMs(a.headers));
    let partial = { rejected: 0, message: '' };
    try {
      if (String(a.headers['content-type'] ?? '').includes('protobuf')) partial = decodeLogsResponse(a.raw);
      else if (a.body.trim() !== '') {
        const p = (
          JSON.parse(a.body) as {
            partialSuccess?: { rejectedLogRecords?: string | number; errorMessage?: string };
          }
        ).partialSuccess;
        partial = { rejected: Number(p?.rejectedLogRecords ?? 0), message: p?.errorMessage ?? '' };
      }
    } catch {
      // An answer 200 whose body cannot be read: the records were accepted.
    }
    if (partial.rejected > 0)
      return deadAll(
        batch,
        `the collector rejected ${partial.rejected} of ${batch.length} records (not saying which): ${partial.message}`,
      );
    return { retry: [], dead: [] };
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
