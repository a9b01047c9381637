// Import with redaction into a real DuckDB store: planted secret values (every place, random values) are
// nowhere in the stored events, in query results, in the database file's bytes or its write-ahead log, or
// in the quarantine file; without redaction the same byte check does find them (so the check is meaningful).
import { DuckDBInstance } from '@duckdb/node-api';
import fc from 'fast-check';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { runImport } from '../pipeline/import.js';
import { createFileQuarantine } from '../ingest/quarantine.js';
import { parseQuery } from '../query/index.js';
import { openStore } from '../store/open.js';
import { plantedArbitrary, type Planted } from '../test-support/planted-secrets.js';
import { redactQuarantine, redactTransform } from './transform.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-redact-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Distinct planted sets with distinct audit ids, so that every event is stored. */
function plantedSets(seed: number, count: number): Planted[] {
  const sets = fc.sample(plantedArbitrary, { seed, numRuns: count });
  let i = 0;
  return sets.flat().map((p) => {
    p.event.auditID = `planted-${seed}-${i++}`;
    return p;
  });
}

async function* batches(records: EventRecord[], size = 97): AsyncGenerator<EventRecord[]> {
  for (let i = 0; i < records.length; i += size) yield records.slice(i, i + size);
}

/** Every row of every table of a closed database file, as text (what compression hides from the bytes). */
async function dumpTables(db: string): Promise<string> {
  const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
  const conn = await instance.connect();
  try {
    const tables = (
      await conn.runAndReadAll(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'",
      )
    ).getRows() as [string, string][];
    const out: string[] = [];
    for (const [schema, table] of tables) {
      const rows = (await conn.runAndReadAll(`SELECT * FROM "${schema}"."${table}"`)).getRows();
      for (const row of rows) out.push(row.map((v) => String(v)).join('\t'));
    }
    return out.join('\n');
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

function fileBytes(db: string): Buffer {
  const parts = [db, `${db}.wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f));
  return Buffer.concat(parts);
}

async function importPlanted(name: string, planted: Planted[], redact: boolean) {
  const db = path.join(dir, `${name}.duckdb`);
  const store = await openStore(db);
  const transform = redactTransform();
  const records = planted.map((p) => ({ cluster: 'c', event: structuredClone(p.event) }));
  const summary = await runImport({
    source: batches(records),
    store,
    transforms: redact ? [transform] : [],
    writeBatch: 500,
  });
  const stored: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ filter: parseQuery('*'), limit: 1000, ...(cursor ? { cursor } : {}) });
    for (const r of page.records) stored.push(JSON.stringify(r.event));
    cursor = page.nextCursor;
  } while (cursor);
  await store.close();
  const bytes = fileBytes(db);
  return { db, summary, stored: stored.join('\n'), bytes, dump: await dumpTables(db), transform };
}

const secretsOf = (planted: Planted[]) => [...new Set(planted.flatMap((p) => p.secrets))];

describe('import with redaction into DuckDB', () => {
  it('no planted secret reaches the stored events, query results, the file or its WAL', async () => {
    const planted = plantedSets(7, 40);
    const { summary, stored, bytes, dump, transform } = await importPlanted('redacted', planted, true);
    expect(summary.stored).toBe(planted.length);
    expect(transform.stats.redacted).toBe(planted.length);
    const secrets = secretsOf(planted);
    expect(secrets.length).toBeGreaterThan(300);
    for (const s of secrets) {
      expect(stored, 'query results').not.toContain(s);
      expect(bytes.includes(Buffer.from(s)), 'database bytes').toBe(false);
      expect(dump, 'database tables').not.toContain(s);
    }
    expect(stored).toContain('kubetrail.io/redacted');
  });

  it('the checks are meaningful: without redaction the values are in the tables and many in the bytes', async () => {
    const planted = plantedSets(8, 10);
    const { bytes, dump, stored } = await importPlanted('plain', planted, false);
    const secrets = secretsOf(planted);
    for (const s of secrets) {
      expect(stored).toContain(s);
      expect(dump).toContain(s);
    }
    // Compression hides part of the values from a plain byte search; the rest must be visible.
    expect(secrets.filter((s) => bytes.includes(Buffer.from(s))).length).toBeGreaterThan(secrets.length / 10);
  });

  it('records set aside in the quarantine keep no secret either', async () => {
    const planted = plantedSets(9, 3);
    const file = path.join(dir, 'quarantine.jsonl');
    const transform = redactTransform();
    const q = redactQuarantine(createFileQuarantine(file), transform.redactor);
    planted.forEach((p, i) => {
      // A record that is not a valid event (no verb) still carries its secrets.
      const { verb: _verb, ...bad } = p.event;
      q.add({ file: 'x.log', line: i + 1, reason: 'missing verb', raw: JSON.stringify(bad) });
    });
    q.add({
      file: 'x.log',
      line: 99,
      reason: 'bad json',
      raw: `{"kind":"Secret","data":{"k":"${planted[0]!.secrets[0]}"`,
    });
    await q.close();
    const text = readFileSync(file, 'utf8');
    for (const s of secretsOf(planted)) expect(text).not.toContain(s);
  });
});
