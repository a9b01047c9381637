// Reading a DuckDB store through the kubetrail server that holds it: RemoteStore implements the Store's
// read methods, and RemoteAlertLog the alert log, as calls to the server's local store endpoint
// (`POST /api/v1/local/store`, src/server/api/local.ts) with the local credential of the server's
// discovery file (src/store/discovery.ts). Writing is refused: the server is the store's only writer.
//
// Filters travel as their canonical text (the server parses them again with the same parser); results
// come back as the JSON the store returned, so commands print the same answers either way. Large pages
// are fetched in pieces the server accepts and joined here. Over HTTPS the server's certificate must
// match the fingerprint in the discovery file before anything is sent.
import { request as httpRequest, Agent, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { ERROR_CODES, KubetrailError, type ErrorCode, type Location } from '../core/errors.js';
import type { EventRecord } from '../core/event.js';
import type { Alert, AlertAck, AlertLog, AlertQuery } from '../core/alert.js';
import { printQuery } from '../query/syntax/printer.js';
import type { QueryNode } from '../query/syntax/ast.js';
import type { DetectionStorage } from './detection.js';
import type { IntegrityStorage } from './integrity.js';
import type { Discovery } from './discovery.js';
import type {
  EventPage,
  EventQuery,
  HistogramBucket,
  HistogramQuery,
  ObjectKey,
  StatsQuery,
  StatsRow,
  Store,
  TimeRange,
  WriteResult,
} from './store.js';

/** The endpoint's path on the server. */
export const LOCAL_STORE_PATH = '/api/v1/local/store';
/** The most events the endpoint returns in one answer. */
export const LOCAL_MAX_PAGE = 5000;
/** The most bytes of a request body the endpoint accepts. */
export const LOCAL_MAX_BODY = 1024 * 1024;

/** What a ping answers: which store the server holds. */
export interface LocalPing {
  pid: number;
  db: string;
}

function remoteError(body: unknown, status: number, url: string): KubetrailError {
  const e = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const code =
    typeof e?.code === 'string' && Object.hasOwn(ERROR_CODES, e.code) ? (e.code as ErrorCode) : undefined;
  if (!e || !code)
    return new KubetrailError('KT_STORE_QUERY', `the kubetrail server at ${url} answered ${status}`);
  const where: Location = {};
  const w = (e.where ?? {}) as Record<string, unknown>;
  if (typeof w.file === 'string') where.file = w.file;
  if (typeof w.path === 'string') where.path = w.path;
  if (typeof w.line === 'number') where.line = w.line;
  if (typeof w.column === 'number') where.column = w.column;
  return new KubetrailError(code, typeof e.message === 'string' ? e.message : `status ${status}`, {
    ...(Object.keys(where).length > 0 ? { where } : {}),
    ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
  });
}

/** Calls the local store endpoint of one running server. */
export class LocalClient {
  private readonly agent: Agent | undefined;
  private readonly https: boolean;

  constructor(readonly discovery: Discovery) {
    this.https = discovery.url.startsWith('https:');
    // HTTPS connections are pinned one by one; plain loopback HTTP keeps its connection between pages.
    this.agent = this.https ? undefined : new Agent({ keepAlive: true, maxSockets: 1 });
  }

  get url(): string {
    return this.discovery.url;
  }

  call<T>(method: string, args?: unknown, timeoutMs?: number): Promise<T> {
    const body = Buffer.from(JSON.stringify(args === undefined ? { method } : { method, args }));
    const target = new URL(LOCAL_STORE_PATH, this.discovery.url);
    const unreachable = (err: Error) =>
      new KubetrailError(
        'KT_STORE_QUERY',
        `the kubetrail server at ${this.discovery.url} (pid ${this.discovery.pid}) did not answer: ${err.message}`,
        {
          hint: `it holds ${this.discovery.db}; check that it still runs, or stop it and run the command again`,
          cause: err,
        },
      );
    return new Promise<T>((resolve, reject) => {
      const options = {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.discovery.credential}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
        },
        ...(this.agent ? { agent: this.agent } : { agent: false as const }),
        ...(this.https ? { rejectUnauthorized: false } : {}),
      };
      const onResponse = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(unreachable(err)));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(
              new KubetrailError(
                'KT_STORE_QUERY',
                `the kubetrail server at ${this.discovery.url} answered ${res.statusCode} with no JSON`,
              ),
            );
            return;
          }
          if (res.statusCode === 200 && parsed !== null && typeof parsed === 'object' && 'result' in parsed)
            resolve((parsed as { result: T }).result);
          else reject(remoteError(parsed, res.statusCode ?? 0, this.discovery.url));
        });
      };
      const req = (this.https ? httpsRequest : httpRequest)(target, options, onResponse);
      req.on('error', (err) => reject(unreachable(err)));
      if (timeoutMs !== undefined)
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      if (!this.https) {
        req.end(body);
        return;
      }
      // Nothing, not even the credential, is sent before the certificate matches the pinned fingerprint.
      req.once('socket', (socket) => {
        (socket as TLSSocket).once('secureConnect', () => {
          const fp = (socket as TLSSocket).getPeerCertificate().fingerprint256;
          if (!this.discovery.tlsCertSha256 || fp !== this.discovery.tlsCertSha256) {
            req.destroy(new Error('its TLS certificate is not the one named in the discovery file'));
            return;
          }
          req.end(body);
        });
      });
    });
  }

  close(): void {
    this.agent?.destroy();
  }
}

/**
 * Connects to the server a discovery file names: resolves to the client when the server answers a ping
 * with the store `db` (canonical path), else undefined (not running, or another store).
 */
export async function connectLocal(discovery: Discovery, db: string): Promise<LocalClient | undefined> {
  const client = new LocalClient(discovery);
  try {
    const ping = await client.call<LocalPing>('ping', undefined, 3000);
    if (ping.db === db && ping.pid === discovery.pid) return client;
  } catch {
    // not answering: treated as absent
  }
  client.close();
  return undefined;
}

const filterText = (filter: QueryNode) => printQuery(filter);

function rangeArgs(range: TimeRange | undefined): TimeRange {
  return {
    ...(range?.since !== undefined ? { since: range.since } : {}),
    ...(range?.until !== undefined ? { until: range.until } : {}),
  };
}

/** Alerts of the store, read and acknowledged through the server. */
export class RemoteAlertLog implements AlertLog {
  constructor(private readonly client: LocalClient) {}

  list(q: AlertQuery = {}): Promise<Alert[]> {
    return this.client.call('alerts.list', q);
  }

  async get(id: string): Promise<Alert | undefined> {
    return (await this.client.call<Alert | null>('alerts.get', { id })) ?? undefined;
  }

  acknowledge(id: string, by: string, nowMs?: number): Promise<boolean> {
    return this.client.call('alerts.acknowledge', { id, by, ...(nowMs !== undefined ? { nowMs } : {}) });
  }

  async acks(ids: readonly string[]): Promise<Map<string, AlertAck>> {
    const rows = await this.client.call<[string, AlertAck][]>('alerts.acks', { ids });
    return new Map(rows);
  }
}

/** A DuckDB store read through the server that holds it. */
export class RemoteStore implements Store {
  readonly kind = 'duckdb';
  /** Always: the server is the store's only writer. */
  readonly readOnly = true;

  constructor(
    private readonly client: LocalClient,
    /** The store file the server holds. */
    readonly file: string,
    /** Events asked for per call (at most LOCAL_MAX_PAGE). */
    private readonly pageSize = LOCAL_MAX_PAGE,
  ) {}

  /** The server's URL, for messages. */
  get url(): string {
    return this.client.url;
  }

  write(_records: readonly EventRecord[]): Promise<WriteResult> {
    return Promise.reject(this.writeRefused());
  }

  deleteBefore(_until: number): Promise<number> {
    return Promise.reject(this.writeRefused());
  }

  /** Detection writes: refused, as every write is. */
  detection(): Promise<DetectionStorage> {
    return Promise.reject(this.writeRefused());
  }

  /** The digests are read where the store is: the server holds the file. */
  integrity(): Promise<IntegrityStorage> {
    return Promise.reject(
      new KubetrailError(
        'KT_INTEGRITY_UNAVAILABLE',
        `${this.file} is held by the kubetrail server at ${this.client.url}; its digests are verified where the store is`,
        {
          hint: 'ask the server for its last verification (GET /api/v1/integrity), or stop it and run `kubetrail verify` again',
        },
      ),
    );
  }

  private writeRefused(): KubetrailError {
    return new KubetrailError(
      'KT_STORE_WRITE',
      `${this.file} is held by the kubetrail server at ${this.client.url}; it is read through the server, which alone writes to it`,
      { hint: 'send events to the server (its webhook or the files it follows), or stop it first' },
    );
  }

  async query(q: EventQuery): Promise<EventPage> {
    // The server answers at most LOCAL_MAX_PAGE events a call: larger pages are joined from keyset pages.
    const records: EventRecord[] = [];
    let cursor = q.cursor;
    for (;;) {
      const want = Math.min(q.limit - records.length, this.pageSize);
      const page = await this.client.call<EventPage>('query', {
        filter: filterText(q.filter),
        ...rangeArgs(q),
        limit: want,
        ...(cursor !== undefined ? { cursor } : {}),
        ...(q.order ? { order: q.order } : {}),
      });
      records.push(...page.records);
      cursor = page.nextCursor;
      if (!cursor || records.length >= q.limit) return { records, ...(cursor ? { nextCursor: cursor } : {}) };
    }
  }

  count(filter: QueryNode, range?: TimeRange): Promise<number> {
    return this.client.call('count', { filter: filterText(filter), ...rangeArgs(range) });
  }

  stats(q: StatsQuery): Promise<StatsRow[]> {
    return this.client.call('stats', { ...q, filter: filterText(q.filter) });
  }

  histogram(q: HistogramQuery): Promise<HistogramBucket[]> {
    return this.client.call('histogram', { ...q, filter: filterText(q.filter) });
  }

  getByAuditId(auditID: string): Promise<EventRecord[]> {
    return this.client.call('getByAuditId', { auditID });
  }

  history(key: ObjectKey, range?: TimeRange): Promise<EventRecord[]> {
    return this.client.call('history', { key, ...rangeArgs(range) });
  }

  async span(): Promise<{ first: number; last: number; events: number } | undefined> {
    return (
      (await this.client.call<{ first: number; last: number; events: number } | null>('span')) ?? undefined
    );
  }

  /** The store's alert log, through the server. */
  async alertLog(): Promise<RemoteAlertLog> {
    return new RemoteAlertLog(this.client);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
