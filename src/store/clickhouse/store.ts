// The ClickHouse store: the scale-out back end for many clusters and long retention, over ClickHouse's
// HTTP interface (@clickhouse/client). Several collectors may write to one database at once.
//
// This module answers the Store interface and composes the store's parts: the connection and migrations
// (connection.ts, migrations.ts), writes (write.ts), day-first paging (day-first.ts), aggregations
// (aggregates.ts), retention (retention.ts), what detection keeps (detection.ts, alerts.ts), and the tamper
// evidence (integrity.ts: digest records appended by writes and retention).
//
// Reads: filters are planned by the ClickHouse dialect (src/query/compile/clickhouse.ts). What the
// server cannot evaluate (JSON paths, annotations) is checked on the selected rows with the JS
// predicate: pages of keys in (ts, content_hash) order for event pages, one streamed query for counts
// and aggregations, so memory stays bounded. Every literal goes through sqlLiteral.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClickHouseClient } from '@clickhouse/client';
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import type { DataKey } from '../../crypto/cipher.js';
import { planClickHouse, sqlLiteral, type ClickHousePlan } from '../../query/compile/clickhouse.js';
import { compileJs } from '../../query/compile/js.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import type { EventRow } from '../columns.js';
import type { DetectionStorage, DetectionStorageOptions, StoredAlertLog } from '../detection.js';
import type { IntegrityStorage } from '../integrity.js';
import { decodeCursor, Mutex } from '../paging.js';
import { fillPage } from '../scan.js';
import { INDEX_COLUMNS, rowOf, type KeyDecision, type KeyRotationStorage } from '../sealing.js';
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
  WriteOptions,
  WriteResult,
} from '../store.js';
import { histogramOf, statsOf, type Where } from './aggregates.js';
import { connectClickHouse, type ClickHouseConnection } from './connection.js';
import { DayFirstPager } from './day-first.js';
import { clickhouseAlertLog, clickhouseDetection } from './detection.js';
import { ClickHouseIntegrity } from './integrity.js';
import type { ClickHouseLocation } from './location.js';
import {
  checkStoreKey,
  deleteSealedUnder,
  readEncryptionState,
  rowsSealedUnder,
  writeEncryptionState,
} from './encryption.js';
import { rangeSql, scanRecords, SELECT_RECORD, toRecord, type RecordRow } from './records.js';
import { deleteEventsBefore } from './retention.js';
import { writeEventRows } from './write.js';

export { parseClickHouseLocation, type ClickHouseLocation } from './location.js';

export interface ClickHouseStoreOptions {
  readOnly?: boolean;
  /** Most candidate rows read per page when a query is post-filtered (default 20000). */
  scanBatch?: number;
  /** The data key of an encrypted store (src/store/sealing.ts). */
  key?: DataKey;
  /** `kubetrail key rotate`: the new key (`key` is then the old one, absent for a plain store). */
  rotateTo?: DataKey;
  /** Read-only: open an encrypted store without its key (OpenOptions.withoutKey). */
  withoutKey?: boolean;
  /**
  /**
   * The identity of the digest chain this process extends (several collectors write to one database,
   * each with its own chain). Default: a new one per open, the host name and random hex; give a stable one
   * to extend the same chain across restarts. Never the same for two processes writing at once.
   */
  writer?: string;
}

/** Most keys read in one page query; larger pages are read as several. */
const MAX_KEY_PAGE = 10_000;

export class ClickHouseStore implements Store {
  readonly kind = 'clickhouse';
  private readonly writeLock = new Mutex();
  private readonly pager: DayFirstPager;
  private integ: Promise<ClickHouseIntegrity> | undefined;

  private constructor(
    private readonly conn: ClickHouseConnection,
    readonly readOnly: boolean,
    private readonly scanBatch: number,
    /** The key rows (and detection's local state file) are sealed with; undefined for a plain store. */
    readonly key: DataKey | undefined,
    private readonly writer: string,
  ) {
    this.pager = new DayFirstPager(conn, key);
  }

  static async open(location: string, opts: ClickHouseStoreOptions = {}): Promise<ClickHouseStore> {
    const readOnly = Boolean(opts.readOnly);
    let decision: KeyDecision = 'open';
    const conn = await connectClickHouse(location, readOnly, async (client, database, where) => {
      decision = await checkStoreKey(
        client,
        database,
        where,
        opts.key,
        opts.rotateTo,
        readOnly && Boolean(opts.withoutKey),
      );
    });
    // An empty store opened for writing with a key becomes encrypted.
    if ((decision as KeyDecision) === 'adopt' && !readOnly && opts.key)
      await writeEncryptionState(conn.client, conn.location.database, { keyId: opts.key.id });
    const sealing = opts.rotateTo ?? opts.key;
    const writer = opts.writer ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    return new ClickHouseStore(conn, readOnly, opts.scanBatch ?? 20_000, sealing, writer);
  }

  /** The tamper evidence, opened on first use (reading this writer's chain head). */
  private digests(): Promise<ClickHouseIntegrity> {
    const opening = (this.integ ??= ClickHouseIntegrity.open(
      this.conn,
      this.writeLock,
      this.writer,
      this.readOnly,
    ));
    opening.catch(() => {
      if (this.integ === opening) this.integ = undefined;
    });
    return opening;
  }

  get location(): ClickHouseLocation {
    return this.conn.location;
  }

  get client(): ClickHouseClient {
    return this.conn.client;
  }

  private plan(filter: QueryNode, now: number): ClickHousePlan {
    try {
      return planClickHouse(filter, now, this.key ? INDEX_COLUMNS : undefined);
    } catch (err) {
      throw new KubetrailError('KT_STORE_QUERY', `cannot run this filter on ClickHouse: ${String(err)}`, {
        cause: err,
      });
    }
  }

  /** WHERE clause of a filter and range, and the JS predicate to apply after it (when needed). */
  private where(filter: QueryNode, range: TimeRange = {}): Where {
    const now = Date.now();
    const plan = this.plan(filter, now);
    const sql = [plan.sql, ...rangeSql(range)].join(' AND ');
    const sealed = this.key ? { key: this.key, clear: INDEX_COLUMNS } : {};
    return plan.postFilter ? { sql, post: compileJs(filter, now), ...sealed } : { sql, ...sealed };
  }

  private refuseWrites(): void {
    if (this.readOnly) {
      throw new KubetrailError('KT_STORE_WRITE', `${this.location.display} is open read-only`);
    }
  }

  // ---------------------------------------------------------------- writing

  async write(records: readonly EventRecord[], opts: WriteOptions = {}): Promise<WriteResult> {
    return this.writeRows(
      records.map((r) => rowOf(r, this.key)),
      opts,
    );
  }

  async writeRows(rows: readonly EventRow[], opts: WriteOptions = {}): Promise<WriteResult> {
    if (rows.length === 0)
      return opts.reportNew ? { stored: 0, duplicates: 0, fresh: [] } : { stored: 0, duplicates: 0 };
    this.refuseWrites();
    const digests = await this.digests();
    return this.writeLock.run(() =>
      writeEventRows(this.conn, rows, opts, digests).catch(async (err: unknown) => {
        await digests.resync().catch(() => undefined);
        throw err;
      }),
    );
  }

  async deleteBefore(until: number): Promise<number> {
    this.refuseWrites();
    const digests = await this.digests();
    // The prune record goes first: a crash before the deletion leaves rows a later retention removes,
    // never rows gone without a record saying so.
    return this.writeLock.run(() =>
      deleteEventsBefore(this.conn, until, (before, removed) =>
        digests.appendLocked({ kind: 'prune', before, removed }).then(() => undefined),
      ),
    );
  }

  // ---------------------------------------------------------------- reading

  async query(q: EventQuery): Promise<EventPage> {
    const w = this.where(q.filter, q);
    const order = q.order === 'asc' ? 'asc' : 'desc';
    // Without a post-filter one page of keys is the answer (read as several when very large). With
    // one, every page makes the server evaluate the SQL over all remaining rows, so reads grow until
    // enough candidates pass (src/store/scan.ts).
    return fillPage(
      async (after, size) => {
        const keys = await this.pager.pageKeys(w.sql, order, after, size, q);
        return {
          rows: await this.pager.fetchByKeys(keys),
          last: keys[keys.length - 1],
          done: keys.length < size,
        };
      },
      {
        limit: q.limit,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
        post: w.post,
        scanBatch: this.scanBatch,
        maxPage: MAX_KEY_PAGE,
      },
    );
  }

  async count(filter: QueryNode, range: TimeRange = {}): Promise<number> {
    const w = this.where(filter, range);
    if (!w.post) {
      const [r] = await this.conn.rows<{ n: string | number }>(
        `SELECT count() AS n FROM ${this.conn.events} WHERE ${w.sql}`,
      );
      return Number(r?.n ?? 0);
    }
    let n = 0;
    for await (const batch of scanRecords(this.conn, w.sql, w.post, this.key)) n += batch.length;
    return n;
  }

  async stats(q: StatsQuery): Promise<StatsRow[]> {
    return statsOf(this.conn, this.where(q.filter, q), q);
  }

  async histogram(q: HistogramQuery): Promise<HistogramBucket[]> {
    return histogramOf(this.conn, this.where(q.filter, q), q);
  }

  async getByAuditId(auditID: string): Promise<EventRecord[]> {
    const rows = await this.conn.rows<RecordRow>(
      `SELECT ${SELECT_RECORD} FROM ${this.conn.events} WHERE audit_id = ${sqlLiteral(auditID)} ORDER BY ts, stage, content_hash`,
    );
    return rows.map((r) => toRecord(r, this.key));
  }

  async history(key: ObjectKey, range: TimeRange = {}): Promise<EventRecord[]> {
    const parts = [
      `resource = ${sqlLiteral(key.resource)}`,
      `name = ${sqlLiteral(key.name)}`,
      `api_group = ${sqlLiteral(key.apiGroup ?? '')}`,
    ];
    if (key.namespace !== undefined) parts.push(`namespace = ${sqlLiteral(key.namespace)}`);
    if (key.cluster !== undefined) parts.push(`cluster = ${sqlLiteral(key.cluster)}`);
    parts.push(...rangeSql(range));
    const rows = await this.conn.rows<RecordRow>(
      `SELECT ${SELECT_RECORD} FROM ${this.conn.events} WHERE ${parts.join(' AND ')} ORDER BY ts, content_hash`,
    );
    return rows.map((r) => toRecord(r, this.key));
  }

  async span(): Promise<{ first: number; last: number; events: number } | undefined> {
    const [r] = await this.conn.rows<{ first: string | number; last: string | number; n: string | number }>(
      `SELECT min(ts) AS first, max(ts) AS last, count() AS n FROM ${this.conn.events}`,
    );
    const events = Number(r?.n ?? 0);
    return events === 0 || !r ? undefined : { first: Number(r.first), last: Number(r.last), events };
  }

  // ---------------------------------------------------------------- detection

  /** Detection's state and outbox in a local file; every new alert is delivered here through it. */
  detection(opts: DetectionStorageOptions = {}): Promise<DetectionStorage> {
    return clickhouseDetection(this, opts);
  }

  async alertLog(opts: { existing?: boolean } = {}): Promise<StoredAlertLog | undefined> {
    return clickhouseAlertLog(this, opts);
  }

  /** The tamper evidence: digest records, entries, the stored rows as entries, verifications. */
  integrity(): Promise<IntegrityStorage> {
    return this.digests();
  }

  // ---------------------------------------------------------------- key rotation

  /** What `kubetrail key rotate` needs (src/store/rotate.ts); writes seal with the new key. */
  keyRotation(): KeyRotationStorage {
    this.refuseWrites();
    const { client, location } = this.conn;
    return {
      where: location.display,
      state: () => readEncryptionState(client, location.database),
      setState: (state) => writeEncryptionState(client, location.database, state),
      rowsUnder: (keyId, after, limit) => rowsSealedUnder(this.conn, keyId, after, limit),
      writeRows: (rows) => this.writeRows(rows),
      deleteUnder: async (keyId, rekey) => {
        const digests = await this.digests();
        await this.writeLock.run(() =>
          deleteSealedUnder(this.conn, keyId, (removed) =>
            digests.appendLocked({ kind: 'rekey', ...rekey, removed }).then(() => undefined),
          ),
        );
      },
    };
  }

  // ---------------------------------------------------------------- administration

  /** Runs a statement (migrations, tests, administration). */
  async command(sql: string): Promise<void> {
    await this.conn.command(sql);
  }

  /** Runs a query and returns its rows. */
  async select<T>(sql: string): Promise<T[]> {
    return this.conn.rows<T>(sql);
  }

  async close(): Promise<void> {
    await this.writeLock.run(async () => undefined);
    await this.conn.close();
  }
}

export function openClickHouseStore(
  location: string,
  opts: ClickHouseStoreOptions = {},
): Promise<ClickHouseStore> {
  return ClickHouseStore.open(location, opts);
}
