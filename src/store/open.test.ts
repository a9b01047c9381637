// The store registry: which back end a location belongs to, the refusal of an unknown one (without its
// password), where files kept with the store go, `query --explain` through each back end, what an opened
// DuckDB store says about the file it holds, and that no production code outside src/store/ asks which
// back end a store is.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseQuery } from '../query/index.js';
import { explainQuery } from './explain.js';
import { backendFor, openStore, storeDirectory } from './open.js';

const SRC = path.resolve(import.meta.dirname, '..');

/** Production modules of src/ outside src/store/ (tests and test support left out). */
function productionFilesOutsideStore(): string[] {
  return (readdirSync(SRC, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .filter((f) => !/^(store|test-support)[\\/]/.test(f))
    .map((f) => path.join(SRC, f));
}

const dir = mkdtempSync(path.join(tmpdir(), 'kt-open-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('store registry', () => {
  it.each([
    ['clickhouse://u:p@db:8123/audit', 'clickhouse'],
    ['CLICKHOUSES://db/audit', 'clickhouse'],
    ['/var/lib/kubetrail/kubetrail.duckdb', 'duckdb'],
    ['data/kubetrail.duckdb', 'duckdb'],
    ['duckdb:/tmp/x.duckdb', 'duckdb'],
    ['duckdb://odd/but/a/file', 'duckdb'],
    [':memory:', 'duckdb'],
  ])('%s belongs to %s', (location, name) => {
    expect(backendFor(location).name).toBe(name);
  });

  it('refuses a location no back end takes, without showing its password', async () => {
    const loc = 'postgres://admin:s3cret@db:5432/audit';
    let err: unknown;
    try {
      backendFor(loc);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'KT_STORE_OPEN' });
    const text = `${(err as Error).message} ${(err as { hint?: string }).hint}`;
    expect(text).not.toContain('s3cret');
    expect(text).toContain('postgres://…@db:5432/audit');
    // The hint names every back end's locations.
    expect(text).toContain('duckdb:PATH');
    expect(text).toContain('clickhouse://USER:PASSWORD@HOST:8123/DATABASE');
    await expect(openStore(loc)).rejects.toMatchObject({ code: 'KT_STORE_OPEN' });
  });

  it('puts files kept with the store beside a store file, elsewhere for a server or memory', () => {
    expect(storeDirectory('/srv/kt/store.duckdb', '/fallback')).toBe('/srv/kt');
    expect(storeDirectory('duckdb:/srv/kt/store.duckdb', '/fallback')).toBe('/srv/kt');
    expect(storeDirectory('clickhouse://u:p@db/audit', '/fallback')).toBe('/fallback');
    expect(storeDirectory(':memory:', '/fallback')).toBe('/fallback');
  });

  it('says which file a DuckDB store holds locked, and none in memory', async () => {
    const file = path.join(dir, 'held.duckdb');
    const held = await openStore(file);
    const memory = await openStore(':memory:');
    try {
      expect(held.kind).toBe('duckdb');
      expect(held.lockedFile).toBe(file);
      expect(memory.lockedFile).toBeUndefined();
    } finally {
      await Promise.all([held.close(), memory.close()]);
    }
  });
});

describe('query --explain', () => {
  const range = { since: 1_714_557_600_000_000, until: 1_714_561_200_000_000 };

  it('explains DuckDB: SQL with bound values, the range included, nothing post-filtered', () => {
    const text = explainQuery('data/kt.duckdb', parseQuery("user:o'brien verb:get"), range, 0);
    expect(text).toMatch(/^store: duckdb\n/);
    expect(text).toContain('ts >= make_timestamp(?::BIGINT) AND ts < make_timestamp(?::BIGINT)');
    const bound = JSON.parse(/bound values: (.*)/.exec(text)![1]!) as unknown[];
    expect(bound).toEqual(expect.arrayContaining(["o'brien", 'get', range.since, range.until]));
    expect(text).not.toContain("o'brien'");
    expect(text).toContain('post-filtered in JS: nothing');
  });

  it('explains ClickHouse: escaped literals, the range included, what is post-filtered', () => {
    const text = explainQuery(
      'clickhouse://u:p@db/audit',
      parseQuery("user:o'brien requestObject.spec.replicas:3"),
      range,
      0,
    );
    expect(text).toMatch(/^store: clickhouse\n/);
    expect(text).toContain(`ts >= ${range.since} AND ts < ${range.until}`);
    expect(text).toContain("'o\\'brien'");
    expect(text).toMatch(/post-filtered in JS: .*requestObject\.spec\.replicas/);
  });
});

describe('the kind of a store', () => {
  it('is asked by no production code outside src/store/', () => {
    const asks =
      /\.kind\s*[!=]==?\s*['"](duckdb|clickhouse)['"]|['"](duckdb|clickhouse)['"]\s*[!=]==?\s*\w+\.kind|instanceof\s+(DuckDB|ClickHouse|Remote)Store\b|isClickHouseLocation/;
    const files = productionFilesOutsideStore();
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .flatMap((line, i) => (asks.test(line) ? [`${path.relative(SRC, f)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
    // The pattern finds what it is meant to find.
    expect(asks.test("if (store.kind === 'duckdb') {")).toBe(true);
    expect(asks.test('return store instanceof ClickHouseStore;')).toBe(true);
  });
});
