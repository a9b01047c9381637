// The DuckDB store's tamper evidence (IntegrityStorage, src/store/integrity.ts): reading its digest
// records and their entries, hashing stored rows of a time range with the same SQL expression the writer
// used (ROW_HASH_SQL), appending sign records through the writer's chain, and keeping verifications.
// Reads run on connections of their own; appends on the writer connection under the store's write lock.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { VerificationRecord } from '../../core/integrity.js';
import { KubetrailError } from '../../core/errors.js';
import type {
  DigestEntry,
  DigestRange,
  DigestRecord,
  IntegrityStorage,
  RecordEntries,
  RecordListener,
  SignBody,
} from '../integrity.js';
import { DUCKDB_WRITER, parseRecord, type DuckDBDigests } from './digests.js';
import { rangeWhere } from './filter.js';
import { LEGACY_ROW_HASH_META, ROW_HASH_SQL, ROW_HASH_V1_SQL } from './schema.js';

/** What the integrity storage needs of its store. */
export interface DuckDBIntegrityHost {
  readonly file: string;
  /** The writer's chain; undefined for a store open read-only. */
  readonly digests: DuckDBDigests | undefined;
  /** Runs fn on a connection of its own, closed after. */
  read<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
  /** A read connection of its own, for a streamed read; the caller closes it. */
  connect(): Promise<DuckDBConnection>;
  /** Runs fn on the writer connection, serialized with writes. */
  write<T>(fn: (conn: DuckDBConnection) => Promise<T>): Promise<T>;
}

/** Rows read per piece when streaming. */
const PIECE = 10_000;

/**
 * Where rows may be named by version 1 row hashes, within `range`: nowhere (undefined), everywhere (a
 * store not migrated to version 3, or marked by an earlier build), or a span of epoch µs.
 */
async function legacySpan(
  conn: DuckDBConnection,
  range: DigestRange,
): Promise<undefined | 'always' | { from: number; to: number }> {
  const r = await conn.runAndReadAll(
    `SELECT (SELECT max(version) FROM kt_schema_migrations), (SELECT value FROM kt_meta WHERE key = ?)`,
    [LEGACY_ROW_HASH_META],
  );
  const [version, value] = r.getRows()[0] ?? [];
  if (Number(version ?? 0) < 3) return 'always';
  if (value === null || value === undefined) return undefined;
  let span: unknown;
  try {
    span = JSON.parse(String(value));
  } catch {
    return 'always';
  }
  if (typeof span !== 'object' || span === null) return 'always';
  const { from, to } = span as { from?: unknown; to?: unknown };
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) return 'always';
  const f = from as number;
  const t = to as number;
  if ((range.since !== undefined && t < range.since) || (range.until !== undefined && f >= range.until))
    return undefined;
  return { from: f, to: t };
}

export class DuckDBIntegrity implements IntegrityStorage {
  readonly writer = DUCKDB_WRITER;

  constructor(private readonly host: DuckDBIntegrityHost) {}

  /** Refuses a store file whose schema predates the digest tables (opened read-only, never migrated). */
  private async checked<T>(conn: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
    const r = await conn.runAndReadAll(
      `SELECT count(*) FROM duckdb_tables() WHERE table_name = 'kt_digests' AND schema_name = 'main'`,
    );
    if (Number(r.getRows()[0]![0]) === 0)
      throw new KubetrailError(
        'KT_INTEGRITY_UNAVAILABLE',
        `${this.host.file} keeps no digests: it was written by an older kubetrail and has not been opened for writing since`,
        {
          hint: 'open it for writing once (`kubetrail serve` or `kubetrail import`), which adds the digest tables',
        },
      );
    return fn();
  }

  private readonly writable = (): DuckDBDigests => {
    if (!this.host.digests) throw new KubetrailError('KT_STORE_WRITE', `${this.host.file} is open read-only`);
    return this.host.digests;
  };

  async head(): Promise<DigestRecord | undefined> {
    return this.host.read((conn) =>
      this.checked(conn, async () => {
        const rows = (
          await conn.runAndReadAll(
            `SELECT record FROM kt_digests WHERE writer = ? ORDER BY seq DESC LIMIT 1`,
            [this.writer],
          )
        ).getRows();
        return rows[0] ? parseRecord(String(rows[0][0])) : undefined;
      }),
    );
  }

  async appendSign(body: SignBody): Promise<DigestRecord> {
    const digests = this.writable();
    return this.host.write(async (conn) => {
      await conn.run('BEGIN TRANSACTION');
      let record: DigestRecord;
      try {
        record = await digests.append(conn, body);
        await conn.run('COMMIT');
      } catch (err) {
        await conn.run('ROLLBACK').catch(() => undefined);
        throw new KubetrailError('KT_STORE_WRITE', `storing a signature failed: ${String(err)}`, {
          where: { file: this.host.file },
          cause: err,
        });
      }
      digests.committed(record);
      return record;
    });
  }

  async *records(): AsyncIterable<DigestRecord> {
    let after: [string, number] | undefined;
    for (;;) {
      const cursor = after;
      const rows = await this.host.read((conn) =>
        this.checked(conn, async () =>
          (
            await conn.runAndReadAll(
              `SELECT writer, seq, record FROM kt_digests ${cursor ? 'WHERE (writer, seq) > (?, ?)' : ''} ORDER BY writer, seq LIMIT ${PIECE}`,
              cursor ? [cursor[0], cursor[1]] : [],
            )
          ).getRows(),
        ),
      );
      for (const r of rows) yield parseRecord(String(r[2]));
      if (rows.length < PIECE) return;
      const last = rows[rows.length - 1]!;
      after = [String(last[0]), Number(last[1])];
    }
  }

  async *entries(range: DigestRange): AsyncIterable<RecordEntries> {
    const params: unknown[] = [];
    // A record meets the range when its span does: from < until and to >= since.
    const parts: string[] = [`kind = 'batch'`];
    if (range.until !== undefined) {
      parts.push('from_us < ?');
      params.push(range.until);
    }
    if (range.since !== undefined) {
      parts.push('to_us >= ?');
      params.push(range.since);
    }
    const records = await this.host.read((conn) =>
      this.checked(conn, async () =>
        (
          await conn.runAndReadAll(
            `SELECT writer, seq FROM kt_digests WHERE ${parts.join(' AND ')} ORDER BY writer, seq`,
            params as never,
          )
        ).getRows(),
      ),
    );
    // Entries of a few hundred records at a time, by their seq span (entries are stored in seq order).
    for (let i = 0; i < records.length; i += 500) {
      const group = records.slice(i, i + 500);
      const byKey = new Map<string, RecordEntries>();
      for (const [w, s] of group) {
        byKey.set(`${String(w)}\n${Number(s)}`, { writer: String(w), seq: Number(s), entries: [] });
      }
      const writers = [...new Set(group.map((r) => String(r[0])))];
      for (const w of writers) {
        const seqs = group.filter((r) => String(r[0]) === w).map((r) => Number(r[1]));
        const rows = await this.host.read(async (conn) =>
          (
            await conn.runAndReadAll(
              `SELECT seq, ts, cluster, audit_id, stage, hash FROM kt_digest_entries
               WHERE writer = ? AND seq BETWEEN ? AND ?`,
              [w, Math.min(...seqs), Math.max(...seqs)],
            )
          ).getRows(),
        );
        for (const r of rows) {
          byKey.get(`${w}\n${Number(r[0])}`)?.entries.push({
            ts: Number(r[1]),
            cluster: String(r[2]),
            auditID: String(r[3]),
            stage: String(r[4]),
            hash: String(r[5]),
          });
        }
      }
      yield* byKey.values();
    }
  }

  async *scan(range: DigestRange): AsyncIterable<DigestEntry[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    rangeWhere(range, parts, params);
    const conn = await this.host.connect();
    try {
      // Rows named by entries written before version 2 of the row hash (a store migrated since, or one
      // not yet migrated, open read-only) are matched by version 1 too, within the span those entries name.
      const legacy = await legacySpan(conn, range);
      const v1 =
        legacy === undefined
          ? ''
          : legacy === 'always'
            ? `, ${ROW_HASH_V1_SQL}`
            : `, CASE WHEN epoch_us(ts) BETWEEN ?::BIGINT AND ?::BIGINT THEN ${ROW_HASH_V1_SQL} END`;
      const spanParams = typeof legacy === 'object' ? [legacy.from, legacy.to] : [];
      const result = await conn.stream(
        `SELECT cluster, audit_id, stage, epoch_us(ts), ${ROW_HASH_SQL}${v1}
         FROM events WHERE ${parts.length > 0 ? parts.join(' AND ') : 'true'}`,
        [...spanParams, ...params] as never,
      );
      let piece: DigestEntry[] = [];
      for await (const chunk of result.yieldRows()) {
        for (const r of chunk) {
          piece.push({
            cluster: String(r[0]),
            auditID: String(r[1]),
            stage: String(r[2]),
            ts: Number(r[3]),
            hash: String(r[4]),
            ...(r[5] !== undefined && r[5] !== null ? { legacyHash: String(r[5]) } : {}),
          });
        }
        if (piece.length >= PIECE) {
          yield piece;
          piece = [];
        }
      }
      if (piece.length > 0) yield piece;
    } finally {
      conn.closeSync();
    }
  }

  onRecord(listener: RecordListener | undefined): void {
    this.host.digests?.onRecord(listener);
  }

  async saveVerification(v: VerificationRecord): Promise<void> {
    this.writable();
    await this.host.write(async (conn) => {
      await conn.run(`INSERT INTO kt_verifications (verified_at, record) VALUES (?, ?)`, [
        v.at,
        JSON.stringify(v),
      ]);
    });
  }

  async lastVerification(): Promise<VerificationRecord | undefined> {
    return this.host.read((conn) =>
      this.checked(conn, async () => {
        const rows = (
          await conn.runAndReadAll(`SELECT record FROM kt_verifications ORDER BY rowid DESC LIMIT 1`)
        ).getRows();
        return rows[0] ? (JSON.parse(String(rows[0][0])) as VerificationRecord) : undefined;
      }),
    );
  }
}
