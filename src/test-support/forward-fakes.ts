// Test helper: loopback servers that speak the published APIs the forwarders deliver to, and inject the
// faults each API has. Elasticsearch/OpenSearch `_bulk` (NDJSON action/document pairs, per-item results,
// `create` refused with 409 for an ID already indexed), Splunk HEC (token check, concatenated events,
// indexer acknowledgement on a channel), Loki push (JSON streams), OTLP/HTTP logs (protobuf decoded from
// the .proto text of opentelemetry-proto, independently of the forwarder's descriptor, and JSON) and a
// generic NDJSON endpoint. Faults: whole-request statuses (429 with Retry-After, 5xx), per-item statuses,
// slow answers, dropped connections, and `down` (every connection reset).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import protobuf from 'protobufjs';

export type FakeApi = 'elasticsearch' | 'splunk' | 'loki' | 'otlp' | 'http';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: number }
  | { kind: 'drop' }
  | { kind: 'slow'; ms: number }
  | { kind: 'lose-ack' }
  | { kind: 'partial'; rejected: number };

export interface Received {
  auditID: string;
  cluster: string;
  /** The whole item as the API carried it (ES document, HEC event object, Loki line, OTLP record…). */
  item: unknown;
}

// opentelemetry-proto v1.5.0, the messages of an export request and its answer (field numbers as upstream).
const OTLP_PROTO = `
syntax = "proto3";
package t;
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord {
  fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7; fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10;
}
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
    ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
`;
const otlpRoot = protobuf.parse(OTLP_PROTO, { keepCase: false }).root;
const OtlpRequest = otlpRoot.lookupType('t.ExportLogsServiceRequest');
const OtlpResponse = otlpRoot.lookupType('t.ExportLogsServiceResponse');

type Kv = { key: string; value: AnyV };
type AnyV = {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyV[] };
  kvlistValue?: { values?: Kv[] };
};

/** An OTLP AnyValue back to plain JSON. */
export function fromAnyValue(v: AnyV | undefined): unknown {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(fromAnyValue);
  if (v.kvlistValue)
    return Object.fromEntries((v.kvlistValue.values ?? []).map((kv) => [kv.key, fromAnyValue(kv.value)]));
  return null;
}

export class FakeDestination {
  readonly received: Received[] = [];
  /** ES: documents by _id; a `create` of a known _id is answered 409. */
  readonly docs = new Map<string, unknown>();
  requests = 0;
  /** Every connection is reset at once: the destination is down. */
  down = false;
  /** Faults for the next requests, one each, in order. */
  readonly faults: Fault[] = [];
  /** ES: the status of an item on its first tries, by auditID (undefined: 201). */
  itemStatus: (auditID: string, attempt: number) => number | undefined = () => undefined;
  private readonly attempts = new Map<string, number>();
  private readonly acks = new Map<number, boolean>();
  private nextAck = 0;
  private readonly sockets = new Set<Socket>();
  lastHeaders: IncomingMessage['headers'] = {};
  url = '';

  private constructor(
    readonly api: FakeApi,
    private readonly opts: { token?: string; ack?: boolean; port?: number },
    private server: Server,
  ) {}

  static async start(
    api: FakeApi,
    opts: { token?: string; ack?: boolean; port?: number } = {},
  ): Promise<FakeDestination> {
    const fake = new FakeDestination(api, opts, createServer());
    await fake.listen(opts.port ?? 0);
    return fake;
  }

  private async listen(port: number): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      if (this.down) {
        s.destroy();
        return;
      }
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(port, '127.0.0.1', r));
    const a = this.server.address();
    if (typeof a === 'object' && a) this.url = `http://127.0.0.1:${a.port}`;
  }

  /** auditIDs received (indexed, acknowledged…). */
  ids(): Set<string> {
    return new Set(this.received.map((r) => r.auditID));
  }

  /** Stops listening (the destination is gone); `restart` listens again on the same port. */
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  async restart(): Promise<void> {
    await this.listen(Number(new URL(this.url).port));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    this.lastHeaders = req.headers;
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://x');
    if (this.api === 'splunk' && url.pathname === '/services/collector/ack') return this.ack(req, res, body);
    this.requests++;
    const fault = this.faults.shift();
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === 'status') {
      res.writeHead(
        fault.status,
        fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {},
      );
      res.end(JSON.stringify({ error: `injected ${fault.status}` }));
      return;
    }
    const expected = {
      elasticsearch: '/_bulk',
      splunk: '/services/collector/event',
      loki: '/loki/api/v1/push',
      otlp: '/v1/logs',
      http: '/ingest',
    }[this.api];
    if (url.pathname !== expected) {
      res.writeHead(404).end(`no route ${url.pathname}`);
      return;
    }
    switch (this.api) {
      case 'elasticsearch':
        return this.bulk(res, body);
      case 'splunk':
        return this.hec(req, res, body, fault);
      case 'loki':
        return this.loki(res, body);
      case 'otlp':
        return this.otlp(req, res, body, fault);
      case 'http':
        for (const line of body.toString('utf8').split('\n').filter(Boolean)) {
          const o = JSON.parse(line) as { cluster: string; event: { auditID: string } };
          this.received.push({ auditID: o.event.auditID, cluster: o.cluster, item: o });
        }
        res.writeHead(200).end();
    }
  }

  private bulk(res: ServerResponse, body: Buffer): void {
    const lines = body.toString('utf8').split('\n').filter(Boolean);
    const items: unknown[] = [];
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const action = JSON.parse(lines[i]!) as { create?: { _index: string; _id: string } };
      const doc = JSON.parse(lines[i + 1]!) as {
        kubernetes: { audit: { auditID: string } };
        orchestrator: { cluster: { name: string } };
      };
      const id = action.create?._id ?? '';
      const auditID = doc.kubernetes.audit.auditID;
      const attempt = (this.attempts.get(auditID) ?? 0) + 1;
      this.attempts.set(auditID, attempt);
      const injected = this.itemStatus(auditID, attempt);
      let status = injected ?? 201;
      if (!action.create) status = 400;
      else if (status === 201 && this.docs.has(id)) status = 409;
      if (status === 201) {
        this.docs.set(id, doc);
        this.received.push({ auditID, cluster: doc.orchestrator.cluster.name, item: doc });
      }
      const error =
        status === 201
          ? undefined
          : {
              type:
                status === 409
                  ? 'version_conflict_engine_exception'
                  : status === 429
                    ? 'es_rejected_execution_exception'
                    : 'mapper_parsing_exception',
              reason: `injected ${status}`,
            };
      items.push({ create: { _index: action.create?._index, _id: id, status, ...(error ? { error } : {}) } });
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        took: 1,
        errors: items.some((i) => (i as { create: { status: number } }).create.status > 299),
        items,
      }),
    );
  }

  private hec(req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined): void {
    if (req.headers.authorization !== `Splunk ${this.opts.token ?? ''}`) {
      res.writeHead(401).end(JSON.stringify({ text: 'Invalid token', code: 4 }));
      return;
    }
    const channel = req.headers['x-splunk-request-channel'];
    if (this.opts.ack && typeof channel !== 'string') {
      res.writeHead(400).end(JSON.stringify({ text: 'Data channel is missing', code: 10 }));
      return;
    }
    const events = body
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { event: { auditID: string }; fields: { cluster: string }; sourcetype: string },
      );
    const ackId = this.nextAck++;
    const lost = fault?.kind === 'lose-ack';
    if (!lost)
      for (const e of events)
        this.received.push({ auditID: e.event.auditID, cluster: e.fields.cluster, item: e });
    if (this.opts.ack) this.acks.set(ackId, !lost);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ text: 'Success', code: 0, ...(this.opts.ack ? { ackId } : {}) }));
  }

  private ack(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const ids = (JSON.parse(body.toString('utf8')) as { acks: number[] }).acks;
    const acks = Object.fromEntries(ids.map((id) => [String(id), this.acks.get(id) === true]));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ acks }));
  }

  private loki(res: ServerResponse, body: Buffer): void {
    const push = JSON.parse(body.toString('utf8')) as {
      streams: { stream: Record<string, string>; values: [string, string][] }[];
    };
    for (const s of push.streams) {
      for (const [ts, line] of s.values) {
        if (!/^\d+$/.test(ts)) {
          res.writeHead(400).end('bad timestamp');
          return;
        }
        const e = JSON.parse(line) as { auditID: string };
        this.received.push({
          auditID: e.auditID,
          cluster: s.stream.cluster!,
          item: { stream: s.stream, ts, line },
        });
      }
    }
    res.writeHead(204).end();
  }

  private otlp(req: IncomingMessage, res: ServerResponse, body: Buffer, fault: Fault | undefined): void {
    const proto = req.headers['content-type'] === 'application/x-protobuf';
    const request = (
      proto
        ? OtlpRequest.toObject(OtlpRequest.decode(body), { longs: String })
        : JSON.parse(body.toString('utf8'))
    ) as {
      resourceLogs: {
        scopeLogs: { logRecords: { body: AnyV; attributes: Kv[]; timeUnixNano: string }[] }[];
      }[];
    };
    for (const rl of request.resourceLogs)
      for (const sl of rl.scopeLogs)
        for (const lr of sl.logRecords) {
          const event = fromAnyValue(lr.body) as { auditID: string };
          const cluster = fromAnyValue(
            lr.attributes.find((a) => a.key === 'k8s.cluster.name')?.value,
          ) as string;
          this.received.push({ auditID: event.auditID, cluster, item: { ...lr, event } });
        }
    const partial =
      fault?.kind === 'partial'
        ? { partialSuccess: { rejectedLogRecords: fault.rejected, errorMessage: 'injected rejection' } }
        : {};
    if (proto) {
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end(Buffer.from(OtlpResponse.encode(OtlpResponse.fromObject(partial)).finish()));
    } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(partial));
  }
}
