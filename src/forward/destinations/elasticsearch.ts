// Elasticsearch and OpenSearch: the `_bulk` API into a data stream (op_type `create`, as data streams
// require), one document per event shaped as Elastic's Kubernetes integration (package `kubernetes`
// 1.66, data stream `kubernetes.audit_logs`) leaves it after its ingest pipeline: the event under
// kubernetes.audit (annotation keys with "." turned to "_", the requestObject/responseObject metadata
// removed) and the ECS fields the pipeline sets (event.kind/action/outcome, user.name/id,
// user_agent.original, source.ip, client.ip). The document ID is the store's content hash, so a batch
// sent again is not indexed twice: a 409 (version conflict) answer for an item means it is there.
// Per item: 429 and 5xx are retried, anything else is dead-lettered with the error.
import { forwarderHeaders, HttpClient, networkError, retryAfterMs, under } from '../http.js';
import type { ResolvedForwarder } from '../spec.js';
import {
  outcomeOfStatus,
  retryAll,
  type Destination,
  type ForwardRecord,
  type SendOutcome,
} from '../types.js';

export const DEFAULT_DATA_STREAM = 'logs-kubernetes.audit_logs-default';
export const ECS_VERSION = '8.11.0';

function withoutMetadata(obj: unknown): unknown {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return obj;
  const { metadata: _metadata, ...rest } = obj as Record<string, unknown>;
  return rest;
}

/** The ECS document for one event (as the integration's ingest pipeline would leave it). */
export function ecsDocument(r: ForwardRecord, dataStream: string): Record<string, unknown> {
  const e = r.event;
  const audit: Record<string, unknown> = { ...e };
  if (e.annotations) {
    audit.annotations = Object.fromEntries(
      Object.entries(e.annotations).map(([k, v]) => [k.replace(/\./g, '_'), v]),
    );
  }
  if (e.requestObject !== undefined) audit.requestObject = withoutMetadata(e.requestObject);
  if (e.responseObject !== undefined) audit.responseObject = withoutMetadata(e.responseObject);
  const decision = e.annotations?.['authorization.k8s.io/decision'];
  const outcome = decision === 'allow' ? 'success' : decision === 'forbid' ? 'failure' : undefined;
  const ds = /^logs-(.+)-([^-]+)$/.exec(dataStream);
  const ips = Array.isArray(e.sourceIPs) ? e.sourceIPs : undefined;
  const doc: Record<string, unknown> = {
    '@timestamp': e.stageTimestamp ?? e.requestReceivedTimestamp,
    ecs: { version: ECS_VERSION },
    ...(ds ? { data_stream: { type: 'logs', dataset: ds[1], namespace: ds[2] } } : {}),
    event: {
      kind: 'event',
      dataset: ds?.[1] ?? 'kubernetes.audit_logs',
      ...(e.verb ? { action: e.verb } : {}),
      ...(outcome ? { outcome } : {}),
    },
    orchestrator: { type: 'kubernetes', cluster: { name: r.cluster } },
    kubernetes: { audit },
  };
  const user: Record<string, unknown> = {};
  if (e.user?.username) user.name = e.user.username;
  if (e.user?.uid) user.id = e.user.uid;
  if (Object.keys(user).length > 0) doc.user = user;
  if (e.userAgent) doc.user_agent = { original: e.userAgent };
  if (ips && ips.length > 0) {
    doc.source = { ip: ips.length === 1 ? ips[0] : ips };
    doc.client = { ip: ips.length === 1 ? ips[0] : ips };
  }
  return doc;
}

interface BulkItem {
  status?: number;
  error?: { type?: string; reason?: string };
}

export class ElasticsearchDestination implements Destination {
  private readonly http: HttpClient;
  private readonly url: URL;
  private readonly dataStream: string;

  constructor(
    private readonly def: ResolvedForwarder,
    base: URL,
  ) {
    this.http = new HttpClient({ timeoutMs: def.config.timeoutMs, ...(def.ca ? { ca: def.ca } : {}) });
    this.url = under(base, '/_bulk');
    this.dataStream = def.config.index ?? DEFAULT_DATA_STREAM;
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const lines: string[] = [];
    for (const r of batch) {
      lines.push(JSON.stringify({ create: { _index: this.dataStream, _id: r.hash } }));
      lines.push(JSON.stringify(ecsDocument(r, this.dataStream)));
    }
    const a = await this.http.request(
      'POST',
      this.url,
      { 'content-type': 'application/x-ndjson', ...forwarderHeaders(this.def) },
      `${lines.join('\n')}\n`,
    );
    if (a.status === 0) return retryAll(batch, networkError(a));
    if (a.status !== 200) return outcomeOfStatus(batch, a.status, a.body, retryAfterMs(a.headers));
    let items: BulkItem[];
    try {
      const parsed = JSON.parse(a.body) as { items?: Record<string, BulkItem>[] };
      items = (parsed.items ?? []).map((i) => Object.values(i)[0] ?? {});
    } catch {
      return retryAll(batch, 'the _bulk answer is not JSON');
    }
    if (items.length !== batch.length)
      return retryAll(batch, `the _bulk answer has ${items.length} items for ${batch.length} documents`);
    const out: SendOutcome = { retry: [], dead: [] };
    for (const [i, item] of items.entries()) {
      const status = item.status ?? 0;
      if ((status >= 200 && status < 300) || status === 409) continue;
      const error = `${status} ${item.error?.type ?? 'error'}: ${item.error?.reason ?? ''}`.trim();
      if (status === 429 || status >= 500) {
        out.retry.push(i);
        out.retryError ??= error;
      } else out.dead.push({ index: i, error });
    }
    return out;
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
