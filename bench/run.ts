// The benchmark: generates realistic audit logs and measures, in the same run, kubetrail against what a
// user would reach for instead (DuckDB's own read_json, jq): import rate, querying raw files, stored-query
// latency and peak memory. Usage: npm run bench [-- --sizes 1m,10m | --quick] [--out DIR]
// [--steps import,query,stored] (default all three; `stored` needs the store `import` wrote).
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseQuery } from '../src/query/index.js';
import { openStore } from '../src/store/open.js';
import { eventsFile, parseSize } from './events.js';
import { measure, percentile, type Measured } from './measure.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');
const native = path.join(root, 'dist/bench/duckdb-native.js');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const quick = process.argv.includes('--quick');
const sizes = (quick ? ['100k'] : (arg('--sizes') ?? '1m,10m').split(',')).map(parseSize);
const out = path.resolve(arg('--out') ?? path.join(root, 'bench/out'));
mkdirSync(out, { recursive: true });
const steps = new Set((arg('--steps') ?? 'import,query,stored').split(','));

interface Row {
  size: number;
  fileMb: number;
  step: string;
  tool: string;
  seconds?: number;
  eventsPerSecond?: number;
  peakRssMb?: number;
  p50Ms?: number;
  p99Ms?: number;
  note?: string;
}
const rows: Row[] = [];
const log = (s: string) => process.stderr.write(`${s}\n`);

function ok(m: Measured, what: string): boolean {
  if (m.code === 0) return true;
  log(`  ${what} failed (exit ${m.code}): ${m.stderr.slice(0, 400)}`);
  return false;
}

const QUERIES = [
  'verb:delete resource:secrets',
  'user:system:serviceaccount:* -ns:kube-system code>=400',
  'resource:pods verb:create',
  'code:403',
  'user:alice@example.com',
];

for (const size of sizes) {
  const file = await eventsFile(out, size, log);
  const fileMb = statSync(file).size / 1e6;
  const base = { size, fileMb: Math.round(fileMb) };

  // (a) import
  const db = path.join(out, `kubetrail-${size}.duckdb`);
  if (steps.has('import')) {
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
    log('import: kubetrail');
    const imp = await measure(process.execPath, [
      bin,
      'import',
      file,
      '--db',
      db,
      '-o',
      'json',
      '--quarantine',
      path.join(out, 'quarantine.jsonl'),
    ]);
    if (ok(imp, 'kubetrail import'))
      rows.push({
        ...base,
        step: 'import',
        tool: 'kubetrail import',
        seconds: imp.seconds,
        eventsPerSecond: size / imp.seconds,
        ...(imp.peakRssMb ? { peakRssMb: imp.peakRssMb } : {}),
      });
    const nativeDb = path.join(out, `native-${size}.duckdb`);
    rmSync(nativeDb, { force: true });
    log('import: DuckDB read_json');
    const nat = await measure(process.execPath, [native, 'load', file, nativeDb]);
    if (ok(nat, 'DuckDB load'))
      rows.push({
        ...base,
        step: 'import',
        tool: 'DuckDB read_json (CREATE TABLE AS)',
        seconds: nat.seconds,
        eventsPerSecond: size / nat.seconds,
        ...(nat.peakRssMb ? { peakRssMb: nat.peakRssMb } : {}),
      });
    rmSync(nativeDb, { force: true });
    log('import: jq');
    const jq = await measure('sh', ['-c', `jq -c . '${file}' > /dev/null`]);
    if (ok(jq, 'jq'))
      rows.push({
        ...base,
        step: 'import',
        tool: 'jq -c . (parse only)',
        seconds: jq.seconds,
        eventsPerSecond: size / jq.seconds,
      });
  }

  // (b) querying the raw file
  if (steps.has('query')) {
    log('query --file: kubetrail');
    const qf = await measure('sh', [
      '-c',
      `exec '${process.execPath}' '${bin}' query --file '${file}' 'verb:delete resource:secrets' -o ndjson --limit 100000000 > /dev/null`,
    ]);
    if (ok(qf, 'kubetrail query --file'))
      rows.push({
        ...base,
        step: 'query --file',
        tool: 'kubetrail query --file',
        seconds: qf.seconds,
        eventsPerSecond: size / qf.seconds,
        ...(qf.peakRssMb ? { peakRssMb: qf.peakRssMb } : {}),
      });
    const nq = await measure(process.execPath, [native, 'query', file]);
    if (ok(nq, 'DuckDB query'))
      rows.push({
        ...base,
        step: 'query --file',
        tool: 'DuckDB read_json WHERE',
        seconds: nq.seconds,
        eventsPerSecond: size / nq.seconds,
      });
    const jqq = await measure('sh', [
      '-c',
      `jq -c 'select(.verb=="delete" and .objectRef.resource=="secrets")' '${file}' > /dev/null`,
    ]);
    if (ok(jqq, 'jq select'))
      rows.push({
        ...base,
        step: 'query --file',
        tool: 'jq select',
        seconds: jqq.seconds,
        eventsPerSecond: size / jqq.seconds,
      });
  }

  // (c) stored-query latency
  if (steps.has('stored') && existsSync(db)) {
    const store = await openStore(db, { readOnly: true });
    for (const q of QUERIES) {
      const filter = parseQuery(q);
      await store.query({ filter, limit: 100 });
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await store.query({ filter, limit: 100 });
        times.push(performance.now() - t);
      }
      rows.push({
        ...base,
        step: 'stored query (newest 100)',
        tool: q,
        p50Ms: percentile(times, 50),
        p99Ms: percentile(times, 99),
      });
    }
    await store.close();
  }
}

const fmt = (v: number | undefined, d = 1) =>
  v === undefined ? '' : v.toLocaleString('en-US', { maximumFractionDigits: d });
const lines = [
  '| events | file MB | step | tool | seconds | events/s | peak RSS MB | p50 ms | p99 ms | ratio vs kubetrail |',
  '|---:|---:|---|---|---:|---:|---:|---:|---:|---:|',
];
for (const r of rows) {
  const ours = rows.find((x) => x.size === r.size && x.step === r.step && x.tool.startsWith('kubetrail'));
  const ratio =
    ours?.seconds && r.seconds && r !== ours ? `${(ours.seconds / r.seconds).toFixed(2)}× ours/theirs` : '';
  lines.push(
    `| ${r.size.toLocaleString('en-US')} | ${r.fileMb} | ${r.step} | ${r.tool} | ${fmt(r.seconds, 2)} | ${fmt(r.eventsPerSecond, 0)} | ${fmt(r.peakRssMb, 0)} | ${fmt(r.p50Ms, 1)} | ${fmt(r.p99Ms, 1)} | ${ratio} |`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(
  path.join(out, 'results.json'),
  JSON.stringify({ date: new Date().toISOString(), rows }, null, 2),
);
log(`results written to ${path.join(out, 'results.json')}`);
