// The two stores side by side on the same events: imports one generated file with `kubetrail import`
// into a DuckDB file and into a ClickHouse database, then times the same reads on both through the
// Store interface (what the API and the CLI call): filtered pages, counts, top values and histograms.
// Reports import rate, peak RSS of the import, size on disk, and p50/p99 latency per read.
//
// Usage: node dist/bench/stores.js [--size 10m] [--runs 20] [--clickhouse http://127.0.0.1:8123]
//                                  [--reuse] [--out bench/out]
// Without --clickhouse it starts Debian's clickhouse-server on a loopback port with a throw-away data
// directory (installing the package when missing and running as root), as the tests do.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseQuery } from '../src/query/index.js';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/store.js';
import { startTestClickHouse, type TestClickHouse } from '../src/test-support/clickhouse.js';
import { eventsFile, parseSize } from './events.js';
import { measure, percentile } from './measure.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const log = (s: string) => process.stderr.write(`${s}\n`);

const size = parseSize(arg('--size') ?? '10m');
const runs = Number(arg('--runs') ?? '20');
const reuse = process.argv.includes('--reuse');
const out = path.resolve(arg('--out') ?? path.join(root, 'bench/out'));
mkdirSync(out, { recursive: true });

// ------------------------------------------------------------------ the events
const file = await eventsFile(out, size, log);
const fileMb = Math.round(statSync(file).size / 1e6);

// ------------------------------------------------------------------ the stores
let server: TestClickHouse | undefined;
let httpUrl = arg('--clickhouse');
if (!httpUrl) {
  log('starting clickhouse-server on a loopback port');
  server = await startTestClickHouse();
  httpUrl = server.httpUrl;
}
const chDatabase = `kt_bench_${size}`;
const chLocation = `${httpUrl
  .replace(/^http:/, 'clickhouse:')
  .replace(/^https:/, 'clickhouses:')
  .replace(/\/+$/, '')}/${chDatabase}`;
const duckFile = path.join(out, `stores-${size}.duckdb`);

/** The ClickHouse server's process on this machine (found by its listening port), if it is local. */
function serverPid(): number | undefined {
  try {
    const port = new URL(httpUrl!).port || '8123';
    const outp = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
    const m = /pid=(\d+)/.exec(outp);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

interface ImportRow {
  store: string;
  /** CPU seconds the ClickHouse server spent during the import. */
  serverCpuSeconds?: number;
  seconds?: number;
  eventsPerSecond?: number;
  peakRssMb?: number;
  diskMb?: number;
  stored?: number;
  note?: string;
}
const imports: ImportRow[] = [];

async function importInto(store: string, location: string, fresh: () => Promise<void>): Promise<void> {
  if (reuse && (await storedCount(location)) === size) {
    log(`import: ${store}: reusing ${size} stored events`);
    imports.push({ store, note: 'reused from an earlier run' });
    return;
  }
  await fresh();
  log(`import: ${store} (${size.toLocaleString('en-US')} events, ${fileMb} MB)`);
  const pid = store === 'ClickHouse' ? serverPid() : undefined;
  const cpuBefore = cpuSeconds(pid);
  const m = await measure(process.execPath, [
    bin,
    'import',
    file,
    '--db',
    location,
    '-o',
    'json',
    '--quarantine',
    path.join(out, `quarantine-${store}.jsonl`),
  ]);
  if (m.code !== 0) {
    log(`  failed (exit ${m.code}): ${m.stderr.slice(0, 600)}`);
    imports.push({ store, note: `failed: exit ${m.code}` });
    return;
  }
  const summary = JSON.parse(m.stdout) as { stored?: number };
  const cpuAfter = cpuSeconds(pid);
  imports.push({
    store,
    ...(cpuBefore !== undefined && cpuAfter !== undefined ? { serverCpuSeconds: cpuAfter - cpuBefore } : {}),
    seconds: m.seconds,
    eventsPerSecond: size / m.seconds,
    ...(m.peakRssMb ? { peakRssMb: m.peakRssMb } : {}),
    ...(summary.stored !== undefined ? { stored: summary.stored } : {}),
  });
  log(`  ${m.seconds.toFixed(0)}s, ${(size / m.seconds).toFixed(0)} events/s`);
}

async function storedCount(location: string): Promise<number | undefined> {
  try {
    const s = await openStore(location, { readOnly: true });
    try {
      return (await s.span())?.events;
    } finally {
      await s.close();
    }
  } catch {
    return undefined;
  }
}

async function clickhouse(sql: string): Promise<string> {
  const res = await fetch(httpUrl!, { method: 'POST', body: sql });
  const text = await res.text();
  if (!res.ok) throw new Error(`ClickHouse: ${text.slice(0, 300)}`);
  return text.trim();
}

await importInto('DuckDB', duckFile, async () => {
  rmSync(duckFile, { force: true });
  rmSync(`${duckFile}.wal`, { force: true });
});
await importInto('ClickHouse', chLocation, async () => {
  await clickhouse(`DROP DATABASE IF EXISTS ${chDatabase}`);
});
// Both stores settled: DuckDB checkpointed on close; ClickHouse merged what it merges in the background.
const duckImport = imports.find((r) => r.store === 'DuckDB');
if (duckImport && existsSync(duckFile)) duckImport.diskMb = statSync(duckFile).size / 1e6;
const chImport = imports.find((r) => r.store === 'ClickHouse');
if (chImport) {
  const bytes = await clickhouse(
    `SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '${chDatabase}'`,
  );
  chImport.diskMb = Number(bytes) / 1e6;
}

// ------------------------------------------------------------------ the reads
interface Read {
  name: string;
  run: (s: Store, span: { first: number; last: number }) => Promise<unknown>;
}
const DAY_US = 86_400_000_000;
const pageOf = (q: string): Read => ({
  name: `page: \`${q}\` (newest 100)`,
  run: (s) => s.query({ filter: parseQuery(q), limit: 100 }),
});
const READS: Read[] = [
  pageOf('verb:delete resource:secrets'),
  pageOf('user:system:serviceaccount:* -ns:kube-system code>=400'),
  pageOf('resource:pods verb:create'),
  pageOf('code:403'),
  pageOf('user:alice@example.com'),
  {
    name: 'page: `verb:get resource:secrets`, last day (newest 100)',
    run: (s, span) =>
      s.query({ filter: parseQuery('verb:get resource:secrets'), limit: 100, since: span.last - DAY_US }),
  },
  { name: 'count: `code>=400`', run: (s) => s.count(parseQuery('code>=400')) },
  {
    name: 'top 10 users of `resource:secrets`',
    run: (s) => s.stats({ filter: parseQuery('resource:secrets'), by: 'user', limit: 10 }),
  },
  {
    name: 'histogram: whole span, hourly, split by verb',
    run: (s) =>
      s.histogram({ filter: parseQuery('*'), intervalMs: 3_600_000, splitBy: 'verb', splitLimit: 8 }),
  },
  {
    name: 'histogram: last day, 5 min',
    run: (s, span) =>
      s.histogram({ filter: parseQuery('*'), intervalMs: 300_000, since: span.last - DAY_US }),
  },
];

interface LatencyRow {
  read: string;
  store: string;
  p50Ms: number;
  p99Ms: number;
  firstMs: number;
}
const latencies: LatencyRow[] = [];
for (const [name, location] of [
  ['DuckDB', duckFile],
  ['ClickHouse', chLocation],
] as const) {
  const store = await openStore(location, { readOnly: true });
  const span = await store.span();
  if (!span) throw new Error(`${name} store is empty`);
  log(`reads: ${name} (${span.events.toLocaleString('en-US')} events)`);
  for (const r of READS) {
    const t0 = performance.now();
    await r.run(store, span);
    const firstMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await r.run(store, span);
      times.push(performance.now() - t);
    }
    latencies.push({
      read: r.name,
      store: name,
      firstMs,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
    });
    log(`  ${r.name}: p50 ${percentile(times, 50).toFixed(1)} ms`);
  }
  await store.close();
}

// ------------------------------------------------------------------ report
const n = (v: number | undefined, d = 0) =>
  v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const cpu = (() => {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
})();
const lines = [
  `${size.toLocaleString('en-US')} events, ${fileMb} MB of JSON, ${cpu} cores`,
  '',
  '| store | import s | events/s | import peak RSS MB | server CPU s | on disk MB |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...imports.map(
    (r) =>
      `| ${r.store} | ${n(r.seconds)} | ${n(r.eventsPerSecond)} | ${n(r.peakRssMb)} | ${n(r.serverCpuSeconds)} | ${n(r.diskMb)} |${r.note ? ` ${r.note}` : ''}`,
  ),
  '',
  '| read | DuckDB p50 ms | DuckDB p99 ms | ClickHouse p50 ms | ClickHouse p99 ms | ClickHouse / DuckDB (p50) |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...READS.map((r) => {
    const d = latencies.find((l) => l.read === r.name && l.store === 'DuckDB');
    const c = latencies.find((l) => l.read === r.name && l.store === 'ClickHouse');
    const ratio = d && c ? `${(c.p50Ms / d.p50Ms).toFixed(2)}×` : '';
    return `| ${r.name} | ${n(d?.p50Ms, 1)} | ${n(d?.p99Ms, 1)} | ${n(c?.p50Ms, 1)} | ${n(c?.p99Ms, 1)} | ${ratio} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(
  path.join(out, `stores-${size}.json`),
  JSON.stringify({ date: new Date().toISOString(), size, fileMb, imports, latencies }, null, 2),
);
log(`results written to ${path.join(out, `stores-${size}.json`)}`);
await server?.stop();
