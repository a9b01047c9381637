// The CLI under hostile or awkward input, run in process on real files and a real DuckDB store: filters
// past the language's limits, directories with entries that cannot be read, logs of garbage, output
// piped to a reader that stops early, wide tables in pipes, and setup defaults that match the server.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FILTER_DEPTH, MAX_JSON_PATH_STEPS } from '../query/syntax/parser.js';
import { runCli } from '../test-support/cli.js';
import { makeEvent } from '../test-support/events.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-robust-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ndjson = (...events: object[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

describe('filters past the limits', () => {
  let db: string;
  beforeAll(async () => {
    db = path.join(dir, 'limits.duckdb');
    const log = path.join(dir, 'limits.log');
    writeFileSync(log, ndjson(makeEvent({ verb: 'get' }), makeEvent({ verb: 'delete' })));
    const r = await runCli(['import', log, '--db', db, '-o', 'json']);
    expect(r.code).toBe(0);
  });

  it('refuses 20,000 nested parentheses and 2,000 leading - with KT_QUERY_LIMIT, exit 2, no stack', async () => {
    for (const filter of [
      `${'('.repeat(20_000)}verb:get${')'.repeat(20_000)}`,
      `${'('.repeat(2500)}verb:get${')'.repeat(2500)}`,
      `${'-'.repeat(2000)}verb:get`,
    ]) {
      const r = await runCli(['query', '--db', db, '--', filter]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^kubetrail: KT_QUERY_LIMIT: column \d+: the filter /);
      expect(r.err).not.toMatch(/RangeError|KT_INTERNAL|\n\s+at /);
      expect(r.err.length).toBeLessThan(1000);
    }
  });

  it('answers a filter at the limits from the store (DuckDB keeps within its expression depth)', async () => {
    const half = MAX_FILTER_DEPTH / 2;
    const path63 = `requestObject${'.a'.repeat(MAX_JSON_PATH_STEPS - 1)}`;
    const deep = `${'NOT ('.repeat(half)}verb:delete OR ${path63}:x${')'.repeat(half)}`;
    const r = await runCli(['query', '--db', db, '-o', 'ndjson', '--', deep]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // 50 negations (even): the same as `verb:delete OR …`.
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verb),
    ).toEqual(['delete']);
    const flat = Array.from({ length: 499 }, (_, i) => `verb:v${i}`).join(' OR ');
    const f = await runCli(['query', '--db', db, '-o', 'ndjson', `${flat} OR verb:get`]);
    expect(f.code).toBe(0);
    expect(
      f.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verb),
    ).toEqual(['get']);
  });
});
