// API latency on a large store: builds a store of N×1M events by replicating the 1M-event benchmark store
// (each copy shifted by whole days, with distinct audit IDs and content hashes), serves it with
// `kubetrail serve`, and times what the web UI asks for: the dashboard's requests (histogram split by verb,
// five top-value lists, recent alerts) and the explorer's first page (100 events plus the histogram).
// Usage: node dist/bench/api.js [--source bench/out/kubetrail-1000000.duckdb] [--copies 10] [--runs 10]
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { percentile } from './measure.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');
const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
};
const source = path.resolve(arg('--source', path.join(root, 'bench/out/kubetrail-1000000.duckdb')));
const copies = Number(arg('--copies', '10'));
const runs = Number(arg('--runs', '10'));
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

if (!existsSync(source)) {
  log(`${source} does not exist: run \`npm run bench -- --sizes 1m\` first`);
  process.exit(2);
}
const target = path.join(path.dirname(source), `kubetrail-api-${copies}x.duckdb`);
const columns = (await (async () => {
  const inst = await DuckDBInstance.create(source, { access_mode: 'READ_ONLY' });
  const c = await inst.connect();
  const r = await c.runAndReadAll(
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`,
  );
  const names = r.getRows().map((row) => String(row[0]));
  c.closeSync();
  inst.closeSync();
  return names;
})()) as string[];

if (!existsSync(target)) {
  log(`building ${target}: ${copies} copies of ${source}`);
  copyFileSync(source, target);
  const inst = await DuckDBInstance.create(target, { threads: '2', memory_limit: '2GB' });
  const c = await inst.connect();
  const span = await c.runAndReadAll('SELECT min(ts), max(ts) FROM events');
  const [lo, hi] = span.getRows()[0]!.map(String);
  const select = (k: number) =>
    columns
      .map((col) =>
        col === 'audit_id'
          ? `audit_id || '-c${k}'`
          : col === 'content_hash'
            ? `content_hash || 'c${k}'`
            : col === 'ts' || col === 'received_ts'
              ? `${col} + INTERVAL ${k} DAY`
              : `"${col}"`,
      )
      .join(', ');
  for (let k = 1; k < copies; k++) {
    const t = performance.now();
    await c.run(
      `INSERT INTO events (${columns.map((x) => `"${x}"`).join(', ')}) SELECT ${select(k)} FROM events WHERE ts BETWEEN '${lo}' AND '${hi}'`,
    );
    log(`  copy ${k} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
  }
  await c.run('CHECKPOINT');
  c.closeSync();
  inst.closeSync();
}

const dir = mkdtempSync(path.join(tmpdir(), 'kt-bench-api-'));
try {
  const port = 7400 + Math.floor(Math.random() * 500);
  const url = `http://127.0.0.1:${port}`;
  const token = execFileSync(
    process.execPath,
    [bin, 'token', 'create', '--role', 'admin', '--name', 'bench', '--data-dir', dir],
    {
      encoding: 'utf8',
    },
  )
    .trim()
    .split(/\s+/)
    .pop()!;
  const server = spawn(
    process.execPath,
    [bin, 'serve', '--db', target, '--data-dir', dir, '--listen', `127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      if (i > 600) throw new Error('server did not start');
    }
    await sleep(100);
  }
  const get = async (p: string, q: Record<string, string>) => {
    const res = await fetch(`${url}/api/v1${p}?${new URLSearchParams(q)}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok) throw new Error(`${p} answered ${res.status}: ${await res.text()}`);
    return res.json();
  };
  const events = (await get('/events', { q: '*', limit: '1', since: '3650d' })) as {
    events: { stageTimestamp: string }[];
  };
  const last = new Date(events.events[0]!.stageTimestamp).getTime();
  const ranges = {
    'last day': { since: new Date(last - 86_400_000).toISOString(), until: new Date(last + 1).toISOString() },
    [`all ${copies} days`]: {
      since: new Date(last - copies * 86_400_000).toISOString(),
      until: new Date(last + 1).toISOString(),
    },
  };
  const rows: string[] = ['| request | range | p50 ms | p99 ms |', '|---|---|---:|---:|'];
  const time = async (label: string, range: string, fn: () => Promise<unknown>) => {
    await fn();
    const ts: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      ts.push(performance.now() - t);
    }
    rows.push(
      `| ${label} | ${range} | ${percentile(ts, 50).toFixed(0)} | ${percentile(ts, 99).toFixed(0)} |`,
    );
  };
  for (const [name, r] of Object.entries(ranges)) {
    await time('dashboard data (7 requests in parallel)', name, () =>
      Promise.all([
        get('/histogram', { ...r, interval: 'auto', split: 'verb' }),
        get('/top', { ...r, field: 'user', limit: '10' }),
        get('/top', { ...r, field: 'resource', limit: '10' }),
        get('/top', { ...r, field: 'ns', limit: '10' }),
        get('/top', { ...r, field: 'user', q: 'code:(401 OR 403)', limit: '10' }),
        get('/top', { ...r, field: 'resource', q: 'code>=500', limit: '10' }),
        get('/alerts', { since: r.since }),
      ]),
    );
    await time('explorer first page: 100 newest events', name, () =>
      get('/events', { ...r, q: '*', limit: '100' }),
    );
    await time('explorer first page: filtered, `verb:delete resource:secrets`', name, () =>
      get('/events', { ...r, q: 'verb:delete resource:secrets', limit: '100' }),
    );
    await time('explorer histogram', name, () => get('/histogram', { ...r, interval: 'auto', q: '*' }));
  }
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  process.stdout.write(`${rows.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
