// The cost of encryption at rest (docs/security.md, "Encryption at rest"): the same generated events
// written to a plain and to an encrypted store (DuckDB file and ClickHouse database), then the same
// reads on each: a filter on an index column (answered in SQL either way), on a sealed field (answered
// in SQL on a plain store; narrowed by SQL and finished in JS on decrypted events on an encrypted one),
// and both together. Reports write rate and p50 latency of counts, first pages and top values.
//
// Usage: node dist/bench/encryption.js [--events 100000] [--runs 5] [--clickhouse http://127.0.0.1:8123]
// Without --clickhouse it starts Debian's clickhouse-server as the tests do; --no-clickhouse skips it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataKey } from '../src/crypto/cipher.js';
import { generateEvents } from '../src/generate/index.js';
import { parseQuery } from '../src/query/index.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { startTestClickHouse, type TestClickHouse } from '../src/test-support/clickhouse.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const count = Number(arg('--events') ?? '100000');
const runs = Number(arg('--runs') ?? '5');
const log = (s: string) => process.stderr.write(`${s}\n`);

const records = [
  ...generateEvents({ seed: 5, start: Date.UTC(2026, 0, 5), durationMs: 6 * 3_600_000, count }),
].map((event) => ({ cluster: 'bench', event }));
const key = DataKey.generate();
const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-bench-enc-'));

const FILTERS = {
  'index column (verb:create)': 'verb:create',
  'sealed field (ua:kubectl*)': 'ua:kubectl*',
  'both (verb:create ua:kubectl*)': 'verb:create ua:kubectl*',
};

async function p50(fn: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function bench(name: string, open: () => Promise<Store>): Promise<void> {
  const store = await open();
  const t = performance.now();
  for (let i = 0; i < records.length; i += 10_000) await store.write(records.slice(i, i + 10_000));
  const writeS = (performance.now() - t) / 1000;
  log(`${name}: wrote ${count} events in ${writeS.toFixed(1)} s`);
  const rows = [`| ${name} | write | ${Math.round(count / writeS).toLocaleString('en-US')} events/s |`];
  for (const [label, text] of Object.entries(FILTERS)) {
    const filter = parseQuery(text);
    const c = await p50(() => store.count(filter));
    const page = await p50(() => store.query({ filter, limit: 100 }));
    const stats = await p50(() => store.stats({ filter, by: 'user', limit: 10 }));
    rows.push(
      `| ${name} | ${label} | count ${c.toFixed(0)} ms, first page ${page.toFixed(0)} ms, top users ${stats.toFixed(0)} ms |`,
    );
  }
  await store.close();
  process.stdout.write(`${rows.join('\n')}\n`);
}

let server: TestClickHouse | undefined;
try {
  process.stdout.write(`${count} events, p50 of ${runs} runs\n\n| store | what | time |\n|---|---|---|\n`);
  await bench('DuckDB, plain', () => openStore(path.join(dir, 'plain.duckdb')));
  await bench('DuckDB, encrypted', () => openStore(path.join(dir, 'sealed.duckdb'), { key }));
  if (!process.argv.includes('--no-clickhouse')) {
    const url = arg('--clickhouse');
    server = url ? undefined : await startTestClickHouse();
    const location = (db: string) =>
      url ? `${url.replace(/^http/, 'clickhouse')}/${db}` : server!.location(db);
    await bench('ClickHouse, plain', () => openStore(location('bench_plain')));
    await bench('ClickHouse, encrypted', () => openStore(location('bench_sealed'), { key }));
  }
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
