// The ClickHouse store's tamper evidence (IntegrityStorage, src/store/integrity.ts): this process's chain
// head, the records and entries as stored (digest-tables.ts), the stored rows of a range as entries
// (hashed by the canonical encoding of canonical.ts), and the verifications kept. Batch records are
// appended by the write path (write.ts, digest-write.ts: the order that survives a crash), prune records
// by retention, sign records through appendSign(); all of them under the store's write lock, so one
// writer's chain is extended by one write at a time.
//
// Several collectors may write to one database: each extends a chain of its own, named by its writer
// identity (ClickHouseStoreOptions.writer), and the verifier checks every chain.
import { KubetrailError } from '../../core/errors.js';
import type { VerificationRecord } from '../../core/integrity.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import {
  ChainHead,
  type BatchBody,
  type DigestBody,
  type DigestEntry,
  type DigestRange,
  type DigestRecord,
  type IntegrityStorage,
  type RecordEntries,
  type RecordListener,
  type SignBody,
} from '../integrity.js';
import type { Mutex } from '../paging.js';
import { ENTRY_COLUMNS, entryOf, type AnyRow } from './canonical.js';
import type { ClickHouseConnection } from './connection.js';
import {
  DIGEST_COLUMNS,
  DIGESTS_TABLE,
  ENTRIES_TABLE,
  VERIFICATIONS_TABLE,
  recordOf,
  type DigestRow,
} from './digest-tables.js';
import { appendRecord, type DigestSink } from './digest-write.js';
import { rangeSql } from './records.js';

/** A kt_digest_entries row as read back. */
interface EntryRow {
  writer: string;
  seq: string;
  chain: string;
  hash: string;
  cluster: string;
  audit_id: string;
  stage: string;
  ts: string;
}

export class ClickHouseIntegrity implements IntegrityStorage, DigestSink {
  private listen: RecordListener | undefined;

  private constructor(
    private readonly conn: ClickHouseConnection,
    private readonly lock: Mutex,
    private readonly readOnly: boolean,
    readonly chainHead: ChainHead,
  ) {}

  /** Opens the tamper evidence of a store for a writer identity, reading the writer's chain head. */
  static async open(
    conn: ClickHouseConnection,
    lock: Mutex,
    writer: string,
    readOnly: boolean,
  ): Promise<ClickHouseIntegrity> {
    const self = new ClickHouseIntegrity(conn, lock, readOnly, new ChainHead(writer));
    const last = await self.head();
    if (last) self.chainHead.advance(last);
    return self;
  }

  get writer(): string {
    return this.chainHead.writer;
  }

  get listener(): RecordListener | undefined {
    return this.listen;
  }

  private table(name: string): string {
    return `${this.conn.location.database}.${name}`;
  }

  /** Whether the database has the digest tables (a reader on a database no recent kubetrail wrote). */
  private async hasTables(): Promise<boolean> {
    const [r] = await this.conn.rows<{ n: string | number }>(
      `SELECT count() AS n FROM system.tables WHERE database = ${sqlLiteral(this.conn.location.database)} AND name = ${sqlLiteral(DIGESTS_TABLE)}`,
    );
    return Number(r?.n ?? 0) > 0;
  }

  async head(): Promise<DigestRecord | undefined> {
    if (this.readOnly && !(await this.hasTables())) return undefined;
    const [row] = await this.conn.rows<DigestRow>(
      `SELECT ${DIGEST_COLUMNS} FROM ${this.table(DIGESTS_TABLE)} WHERE writer = ${sqlLiteral(this.writer)} ORDER BY seq DESC LIMIT 1`,
    );
    return row ? recordOf(row) : undefined;
  }

  /** Moves the head to the stored one (after a failed write, whose record may have been stored). */
  async resync(): Promise<void> {
    const last = await this.head();
    if (last && last.seq > this.chainHead.seq) this.chainHead.advance(last);
  }

  committed(record: DigestRecord, entries: readonly DigestEntry[] | undefined): void {
    this.chainHead.advance(record);
    this.listen?.(record, entries);
  }

  private refuseWrites(): void {
    if (this.readOnly)
      throw new KubetrailError('KT_STORE_WRITE', `${this.conn.location.display} is open read-only`);
  }

  /** Appends a record of this writer under the write lock (prune and sign records). */
  async append(body: DigestBody): Promise<DigestRecord> {
    this.refuseWrites();
    return this.lock.run(() => this.appendLocked(body));
  }

  /** Appends a record of this writer; the caller holds the write lock. */
  async appendLocked(body: DigestBody): Promise<DigestRecord> {
    const record = this.chainHead.next(body);
    await appendRecord(this.conn, record);
    this.committed(record, undefined);
    return record;
  }

  appendSign(body: SignBody): Promise<DigestRecord> {
    return this.append(body);
  }

  async *records(): AsyncIterable<DigestRecord> {
    if (!(await this.hasTables())) return;
    for await (const rows of this.conn.stream<DigestRow>(
      `SELECT ${DIGEST_COLUMNS} FROM ${this.table(DIGESTS_TABLE)} ORDER BY writer, seq`,
    ))
      for (const r of rows) yield recordOf(r);
  }

  async *entries(range: DigestRange): AsyncIterable<RecordEntries> {
    if (!(await this.hasTables())) return;
    // A record's span is in its body: read every batch record and keep those meeting the range.
    const batches: (DigestRecord & BatchBody)[] = [];
    /** The chain values of every stored record, by writer: entries under another were left by a crash. */
    const stored = new Set<string>();
    for await (const rows of this.conn.stream<DigestRow>(
      `SELECT ${DIGEST_COLUMNS} FROM ${this.table(DIGESTS_TABLE)} WHERE kind = 'batch' ORDER BY writer, seq`,
    )) {
      for (const row of rows) {
        const r = recordOf(row);
        stored.add(`${r.writer}\0${r.chain}`);
        if (r.kind !== 'batch') continue;
        if (range.since !== undefined && !(Number(r.to) >= range.since)) continue;
        if (range.until !== undefined && !(Number(r.from) < range.until)) continue;
        batches.push(r);
      }
    }
    if (batches.length === 0) return;
    // The entries at each record's place (writer, seq), as they were written there: those of a write that
    // crashed before its record carry a chain value no stored record has, and are left out. One pass
    // over the entries of the records' time span.
    const byPlace = new Map<string, DigestEntry[]>(batches.map((r) => [`${r.writer}\0${r.seq}`, []]));
    const lo = Math.min(...batches.map((r) => Number(r.from)).filter(Number.isFinite));
    const hi = Math.max(...batches.map((r) => Number(r.to)).filter(Number.isFinite));
    const limited = range.since !== undefined || range.until !== undefined;
    const span =
      limited && Number.isFinite(lo) && Number.isFinite(hi)
        ? ` WHERE ts >= ${sqlLiteral(lo)} AND ts <= ${sqlLiteral(hi)}`
        : '';
    for await (const rows of this.conn.stream<EntryRow>(
      `SELECT writer, seq, chain, hash, cluster, audit_id, stage, ts FROM ${this.table(ENTRIES_TABLE)}${span}`,
    )) {
      for (const e of rows) {
        if (!stored.has(`${e.writer}\0${e.chain}`)) continue;
        byPlace.get(`${e.writer}\0${Number(e.seq)}`)?.push({
          hash: e.hash,
          cluster: e.cluster,
          auditID: e.audit_id,
          stage: e.stage,
          ts: Number(e.ts),
        });
      }
    }
    for (const r of batches) {
      const key = `${r.writer}\0${r.seq}`;
      const entries = byPlace.get(key)!;
      // Two records at one place (a record copied): the entries are given once.
      byPlace.set(key, []);
      yield { writer: r.writer, seq: r.seq, entries };
    }
  }

  async *scan(range: DigestRange): AsyncIterable<DigestEntry[]> {
    const where = rangeSql(range);
    for await (const rows of this.conn.stream<AnyRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ${this.conn.events}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}`,
    ))
      if (rows.length > 0) yield rows.map(entryOf);
  }

  onRecord(listener: RecordListener | undefined): void {
    this.listen = listener;
  }

  async saveVerification(v: VerificationRecord): Promise<void> {
    this.refuseWrites();
    await this.conn.client.insert({
      table: this.table(VERIFICATIONS_TABLE),
      values: [{ saved_at: Date.now() * 1000, record: JSON.stringify(v) }],
      format: 'JSONEachRow',
    });
  }

  async lastVerification(): Promise<VerificationRecord | undefined> {
    if (!(await this.hasTables())) return undefined;
    const [row] = await this.conn.rows<{ record: string }>(
      `SELECT record FROM ${this.table(VERIFICATIONS_TABLE)} ORDER BY saved_at DESC LIMIT 1`,
    );
    if (!row) return undefined;
    try {
      return JSON.parse(row.record) as VerificationRecord;
    } catch {
      return undefined;
    }
  }
}
