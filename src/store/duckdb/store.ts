// The embedded DuckDB store: one file, typed columns plus the whole event, idempotent writes, filtered
// queries compiled from the filter language with bound parameters, aggregations and object history, and
// detection's tables and the digests of tamper evidence in the same file. This module opens the file and
// answers the event reads; writing (write.ts), aggregations (aggregates.ts), detection's tables
// (detection-state.ts) and the digests (digests.ts, integrity.ts) are modules of their own.
//
// Over 400 lines but one class: each Store method is a few lines over the shared connections, the write
// lock and the key, delegating to the modules above; splitting the class would only pass those around.
//
// Concurrency: one writer process. DuckDB locks the file, so a second process cannot open it, even to
// read, while a writer holds it; that is reported as KT_STORE_OPEN naming the likely holder.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import type { DataKey } from '../../crypto/cipher.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import type { EventRow } from '../columns.js';
import type { DetectionStorage, StoredAlertLog } from '../detection.js';
import type { DigestRecord, IntegrityStorage } from '../integrity.js';
import { fillPage } from '../scan.js';
import { rowOf, type KeyDecision, type KeyRotationStorage } from '../sealing.js';
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
import { decodeCursor, Mutex } from '../paging.js';
import { histogramOf, statsOf } from './aggregates.js';
import { resealDetectionTables } from './detection-reseal.js';
import { DuckDBDetectionState } from './detection-state.js';
import { DuckDBDigests } from './digests.js';
import { DuckDBIntegrity } from './integrity.js';
import {
  checkStoreKey,
  deleteSealedUnder,
  readEncryptionState,
  rowsSealedUnder,
  writeEncryptionState,
} from './encryption.js';
import { rangeWhere, recordOf, SELECT_RECORD, streamRecords, whereOf, type Where } from './filter.js';
import { isLockError } from './lock.js';
import { migrate } from './migrations.js';
import { APPEND_SLICE, DuckDBWriter } from './write.js';

export interface DuckDBStoreOptions {
  readOnly?: boolean;
  /** DuckDB memory limit, e.g. '1GB'. Bounded by default so imports keep a flat footprint. */
  memoryLimit?: string;
  threads?: number;
  /**
   * WAL size that triggers a checkpoint (DuckDB's default is 16MB). Each checkpoint rewrites the newest
   * row groups; with ~1 KB rows a larger WAL means far fewer rewrites (a 1M-event import: 114 s at
   * 16MB, 82 s at 256MB, for about 100 MB more peak memory).
   */
  checkpointThreshold?: string;
  /** The data key of an encrypted store (src/store/sealing.ts). */
  key?: DataKey;
  /** `kubetrail key rotate`: the new key (`key` is then the old one, absent for a plain store). */
  rotateTo?: DataKey;
  /** Read-only: open an encrypted store without its key (OpenOptions.withoutKey). */
  withoutKey?: boolean;
  /** Most candidate rows read at once when a query is post-filtered (default 20000). */
  scanBatch?: number;
}

export class DuckDBStore implements Store {
  readonly kind = 'duckdb';
  readonly lockedFile: string | undefined;
  private readonly writeLock = new Mutex();
  private readonly writer: DuckDBWriter | undefined;
  private integrityStorage: DuckDBIntegrity | undefined;
  private closed = false;

  private constructor(
    readonly file: string,
    private readonly instance: DuckDBInstance,
    /** The writer connection; other components may create their own tables through it. */
    readonly connection: DuckDBConnection,
    readonly readOnly: boolean,
    /** The key rows are sealed with and opened with; undefined for a plain store. */
    private readonly key: DataKey | undefined,
    private readonly scanBatch: number,
    /** The digest chain the writer extends; undefined when read-only. */
    private readonly digests: DuckDBDigests | undefined,
  ) {
    this.lockedFile = file === ':memory:' ? undefined : file;
    this.writer = digests ? new DuckDBWriter(connection, file, digests) : undefined;
  }

  static async open(file: string, opts: DuckDBStoreOptions = {}): Promise<DuckDBStore> {
    const memory = file === ':memory:';
    if (!memory && !opts.readOnly) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, {
        ...(opts.readOnly ? { access_mode: 'READ_ONLY' } : {}),
        memory_limit: opts.memoryLimit ?? '512MB',
        threads: String(opts.threads ?? 2),
        checkpoint_threshold: opts.checkpointThreshold ?? '256MB',
      });
    } catch (err) {
      if (isLockError(err)) {
        throw new KubetrailError('KT_STORE_OPEN', `${file} is in use by another kubetrail process`, {
          where: { file },
          hint: 'a running `kubetrail serve` or import holds the store; query through the server, or stop it first',
          cause: err,
        });
      }
      if (opts.readOnly && /does not exist|No such file|Cannot open database/i.test(String(err))) {
        throw new KubetrailError('KT_STORE_OPEN', `no store at ${file}`, {
          where: { file },
          hint: 'import events first (`kubetrail import FILE`) or point --db / KUBETRAIL_DB at a store',
          cause: err,
        });
      }
      throw new KubetrailError('KT_STORE_OPEN', `cannot open ${file}: ${String(err)}`, {
        where: { file },
        cause: err,
      });
    }
    const conn = await instance.connect();
    let decision: KeyDecision;
    try {
      // Checked before any migration: a refused key changes nothing in the file.
      decision = await checkStoreKey(
        conn,
        file,
        opts.key,
        opts.rotateTo,
        Boolean(opts.readOnly && opts.withoutKey),
      );
      if (!opts.readOnly) await migrate(conn, file);
      // An empty store opened for writing with a key becomes encrypted.
      if (decision === 'adopt' && !opts.readOnly && opts.key)
        await writeEncryptionState(conn, { keyId: opts.key.id });
    } catch (err) {
      conn.closeSync();
      instance.closeSync();
      throw err;
    }
    const key = opts.rotateTo ?? opts.key;
    const digests = opts.readOnly ? undefined : await DuckDBDigests.open(conn);
    return new DuckDBStore(
      file,
      instance,
      conn,
      Boolean(opts.readOnly),
      key,
      opts.scanBatch ?? 20_000,
      digests,
    );
  }

  // ---------------------------------------------------------------- writing

  async write(records: readonly EventRecord[], opts: WriteOptions = {}): Promise<WriteResult> {
    // Built in slices with a turn of the event loop between them, as the writer appends them.
    const rows: EventRow[] = [];
    for (let i = 0; i < records.length; i += APPEND_SLICE) {
      if (i > 0) await nextTurn();
      const end = Math.min(records.length, i + APPEND_SLICE);
      for (let j = i; j < end; j++) rows.push(rowOf(records[j]!, this.key));
    }
    return this.writeRows(rows, opts);
  }

  async writeRows(rows: readonly EventRow[], opts: WriteOptions = {}): Promise<WriteResult> {
    if (rows.length === 0)
      return opts.reportNew ? { stored: 0, duplicates: 0, fresh: [] } : { stored: 0, duplicates: 0 };
    const writer = this.writer;
    if (!writer) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
    return this.writeLock.run(() => writer.write(rows, opts));
  }

  // ---------------------------------------------------------------- reading

  private readonly read = async <T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T> => {
    if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
    const conn = await this.instance.connect();
    try {
      return await fn(conn);
    } catch (err) {
      if (err instanceof KubetrailError) throw err;
      throw new KubetrailError('KT_STORE_QUERY', `query failed: ${String(err)}`, { cause: err });
    } finally {
      conn.closeSync();
    }
  };

  private where(filter: QueryNode, range: TimeRange = {}): Where {
    return whereOf(filter, range, undefined, this.key);
  }

  async query(q: EventQuery): Promise<EventPage> {
    const w = this.where(q.filter, q);
    const dir = q.order === 'asc' ? 'ASC' : 'DESC';
    const op = q.order === 'asc' ? '>' : '<';
    // One read of limit + 1 rows answers a filter the SQL evaluates whole; otherwise reads of candidates
    // grow until the JS predicate has passed enough of them (src/store/scan.ts).
    return fillPage(
      async (after, size) => {
        const params = [...w.params];
        let sql = w.sql;
        if (after) {
          sql += ` AND (ts ${op} make_timestamp(?::BIGINT) OR (ts = make_timestamp(?::BIGINT) AND content_hash ${op} ?))`;
          params.push(after.t, after.t, after.hash);
        }
        params.push(size);
        const rows = await this.read(async (conn) =>
          (
            await conn.runAndReadAll(
              `SELECT ${SELECT_RECORD} FROM events WHERE ${sql} ORDER BY ts ${dir}, content_hash ${dir} LIMIT ?`,
              params as never,
            )
          ).getRows(),
        );
        const located = rows.map((r) => recordOf(r, this.key));
        const last = located[located.length - 1];
        return { rows: located, last: last && { t: last.t, hash: last.hash }, done: rows.length < size };
      },
      {
        limit: q.limit,
        after: q.cursor ? decodeCursor(q.cursor) : undefined,
        post: w.post,
        scanBatch: this.scanBatch,
      },
    );
  }

  async count(filter: QueryNode, range: TimeRange = {}): Promise<number> {
    const w = this.where(filter, range);
    return this.read(async (conn) => {
      if (w.post) {
        let n = 0;
        for await (const batch of streamRecords(conn, w)) for (const r of batch) if (w.post(r.record)) n++;
        return n;
      }
      const r = await conn.runAndReadAll(`SELECT count(*) FROM events WHERE ${w.sql}`, w.params as never);
      return Number(r.getRows()[0]![0]);
    });
  }

  async stats(q: StatsQuery): Promise<StatsRow[]> {
    return statsOf(this.read, this.where(q.filter, q), q);
  }

  async histogram(q: HistogramQuery): Promise<HistogramBucket[]> {
    return histogramOf(this.read, this.where(q.filter, q), q);
  }

  async getByAuditId(auditID: string): Promise<EventRecord[]> {
    return this.read(async (conn) => {
      const rows = (
        await conn.runAndReadAll(
          `SELECT ${SELECT_RECORD} FROM events WHERE audit_id = ? ORDER BY ts, stage`,
          [auditID],
        )
      ).getRows();
      return rows.map((r) => recordOf(r, this.key).record);
    });
  }

  async history(key: ObjectKey, range: TimeRange = {}): Promise<EventRecord[]> {
    const parts = [`resource = ?`, `name = ?`, `coalesce(api_group, '') = ?`];
    const params: unknown[] = [key.resource, key.name, key.apiGroup ?? ''];
    if (key.namespace !== undefined) {
      parts.push(`coalesce(namespace, '') = ?`);
      params.push(key.namespace);
    }
    if (key.cluster !== undefined) {
      parts.push(`cluster = ?`);
      params.push(key.cluster);
    }
    rangeWhere(range, parts, params);
    return this.read(async (conn) => {
      const rows = (
        await conn.runAndReadAll(
          `SELECT ${SELECT_RECORD} FROM events WHERE ${parts.join(' AND ')} ORDER BY ts, content_hash`,
          params as never,
        )
      ).getRows();
      return rows.map((r) => recordOf(r, this.key).record);
    });
  }

  async span(): Promise<{ first: number; last: number; events: number } | undefined> {
    return this.read(async (conn) => {
      const r = (
        await conn.runAndReadAll(`SELECT epoch_us(min(ts)), epoch_us(max(ts)), count(*) FROM events`)
      ).getRows()[0]!;
      const events = Number(r[2]);
      return events === 0 ? undefined : { first: Number(r[0]), last: Number(r[1]), events };
    });
  }

  /**
   * Deletes the events before `until` and, in the same transaction, appends a prune digest record saying
   * so and drops the digest entries of batch records that named only events before it.
   */
  async deleteBefore(until: number): Promise<number> {
    const digests = this.digests;
    if (!digests) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
    return this.writeLock.run(async () => {
      const conn = this.connection;
      await conn.run('BEGIN TRANSACTION');
      let removed: number;
      let record: DigestRecord | undefined;
      try {
        const r = await conn.runAndReadAll(`DELETE FROM events WHERE ts < make_timestamp(?::BIGINT)`, [
          until,
        ]);
        removed = Number(r.getRows()[0]?.[0] ?? 0);
        if (removed > 0) {
          record = await digests.append(conn, { kind: 'prune', before: until, removed });
          await conn.run(
            `DELETE FROM kt_digest_entries WHERE ts < ? AND (writer, seq) IN (
               SELECT writer, seq FROM kt_digests WHERE kind = 'batch' AND to_us < ?)`,
            [until, until],
          );
        }
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw new KubetrailError(
          'KT_STORE_WRITE',
          `removing events from ${this.file} failed: ${String(err)}`,
          {
            where: { file: this.file },
            cause: err,
          },
        );
      }
      if (record) digests.committed(record);
      return removed;
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.read(async (conn) => {
      const rows = (await conn.runAndReadAll(`SELECT value FROM kt_meta WHERE key = ?`, [key])).getRows();
      return rows.length > 0 ? String(rows[0]![0]) : undefined;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.writeLock.run(async () => {
      await this.connection.run(`INSERT OR REPLACE INTO kt_meta (key, value) VALUES (?, ?)`, [key, value]);
    });
  }

  // ---------------------------------------------------------------- key rotation

  /** What `kubetrail key rotate` needs (src/store/rotate.ts); writes seal with the new key. */
  keyRotation(): KeyRotationStorage {
    if (this.readOnly) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
    return {
      where: this.file,
      state: () => this.read((conn) => readEncryptionState(conn)),
      setState: (state) => this.writeLock.run(() => writeEncryptionState(this.connection, state)),
      rowsUnder: (keyId, after, limit) => this.read((conn) => rowsSealedUnder(conn, keyId, after, limit)),
      writeRows: (rows) => this.writeRows(rows),
      deleteUnder: (keyId, rekey) =>
        this.writeLock.run(async () => {
          const digests = this.digests;
          if (!digests) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
          // The removal and the rekey record that says so commit together.
          const conn = this.connection;
          await conn.run('BEGIN TRANSACTION');
          let record: DigestRecord | undefined;
          try {
            const removed = await deleteSealedUnder(conn, keyId);
            if (removed > 0) record = await digests.append(conn, { kind: 'rekey', ...rekey, removed });
            await conn.run('COMMIT');
          } catch (err) {
            await conn.run('ROLLBACK').catch(() => undefined);
            throw err;
          }
          if (record) digests.committed(record);
        }),
      resealTables: async (from, to) => {
        await this.writeLock.run(() => resealDetectionTables(this.connection, { from, to }));
      },
    };
  }

  private readonly ownConnections: DuckDBConnection[] = [];

  /**
   * A connection of its own, with its own transactions, for tables other modules keep in the same file
   * (alerts): their statements never land inside an event write's transaction. Closed with the store.
   */
  async connect(): Promise<DuckDBConnection> {
    if (this.closed) throw new KubetrailError('KT_STORE_OPEN', 'the store is closed');
    const c = await this.instance.connect();
    this.ownConnections.push(c);
    return c;
  }

  // ---------------------------------------------------------------- detection

  /** Detection keeps its alerts, outbox and state in the store's own file, on a connection of its own. */
  async detection(): Promise<DetectionStorage> {
    if (this.readOnly) throw new KubetrailError('KT_STORE_WRITE', `${this.file} is open read-only`);
    const state = await DuckDBDetectionState.open(await this.connect(), this.detectionOptions);
    return { state, log: state, targets: [], where: 'the store', close: async () => undefined };
  }

  async alertLog(opts: { existing?: boolean } = {}): Promise<StoredAlertLog | undefined> {
    const conn = await this.connect();
    return opts.existing
      ? DuckDBDetectionState.openExisting(conn, this.detectionOptions)
      : DuckDBDetectionState.open(conn, this.detectionOptions);
  }

  /** Detection's tables seal alert messages and keys, outbox errors and engine state with the data key. */
  private get detectionOptions(): { key?: DataKey } {
    return this.key ? { key: this.key } : {};
  }

  /** The store's digests, in its own file. */
  async integrity(): Promise<IntegrityStorage> {
    if (this.closed) throw new KubetrailError('KT_STORE_OPEN', 'the store is closed');
    this.integrityStorage ??= new DuckDBIntegrity({
      file: this.file,
      digests: this.digests,
      read: this.read,
      connect: async () => {
        if (this.closed) throw new KubetrailError('KT_STORE_QUERY', 'the store is closed');
        return this.instance.connect();
      },
      write: (fn) => this.writeLock.run(() => fn(this.connection)),
    });
    return this.integrityStorage;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeLock.run(async () => undefined);
    this.closed = true;
    if (!this.readOnly) await this.connection.run('CHECKPOINT').catch(() => undefined);
    for (const c of this.ownConnections) c.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

export function openDuckDBStore(file: string, opts: DuckDBStoreOptions = {}): Promise<DuckDBStore> {
  return DuckDBStore.open(file, opts);
}
