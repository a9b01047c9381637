// Collector load test on loopback: (1) sustained webhook ingest into a `kubetrail serve` process by a
// real HTTP client with several connections, with the latency of the 200 answers and the server's peak
// memory, side by side with a bare node:http receiver that parses each batch and appends it to a file
// (the baseline), and with both acknowledgement modes (webhook.acknowledge: log, the default, answered
// once the batch is fsynced in the segment log; store, answered after the store commit), plus how long
// the store takes to catch up after the load; (2) file-tail lag while a writer appends at a fixed rate;
// (3) memory while the store is slowed down artificially (the webhook must answer 429 instead of buffering).
// Usage: node dist/bench/collector.js [--seconds 20] [--concurrency 8] [--batch 400] [--rate 20000]
//        [--only webhook] [--modes log,store]
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { configSchema } from '../src/config/schema.js';
import type { EventRecord } from '../src/core/event.js';
import { generateEvents } from '../src/generate/index.js';
import { startCollector } from '../src/server/collector.js';
import { percentile } from './measure.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
const seconds = arg('--seconds', 20);
const concurrency = arg('--concurrency', 8);
const batchSize = arg('--batch', 400);
const fileRate = arg('--rate', 20_000);
/** `--only webhook`: the webhook runs only (no file tail, no slowed store). */
const webhookOnly =
  process.argv.includes('--only') && process.argv[process.argv.indexOf('--only') + 1] === 'webhook';
/** `--modes log,store`: which acknowledgement modes to run (default both). */
const modes = (
  process.argv.includes('--modes')
    ? process.argv[process.argv.indexOf('--modes') + 1]!.split(',')
    : ['log', 'store']
).filter((m): m is 'log' | 'store' => m === 'log' || m === 'store');
const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Endless unique events in time order, as a live cluster sends them (20 µs apart, ending near now). */
function* events(seed: number) {
  let n = 0;
  const base = (Date.now() - 3_600_000) * 1000;
  for (;;) {
    for (const e of generateEvents({
      seed: seed + n,
      start: Date.UTC(2026, 10, 1),
      durationMs: 3_600_000,
      count: 50_000,
    })) {
      n++;
      const t = new Date(Math.floor((base + n * 20) / 1000)).toISOString().replace('Z', '000Z');
      yield {
        ...e,
        auditID: `${e.auditID.slice(0, 24)}${String(n).padStart(12, '0')}`,
        requestReceivedTimestamp: t,
        stageTimestamp: t,
      };
    }
  }
}

async function serve(dir: string, port: number, extra: string[] = []): Promise<ChildProcess> {
  // The server runs with the node options of `npm start` and the container image; BENCH_SERVER_NODE_ARGS
  // adds more, for the server only (e.g. `--cpu-prof --cpu-prof-dir=DIR`).
  const nodeArgs = [
    '--max-semi-space-size=64',
    ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter((a) => a !== ''),
  ];
  const child = spawn(
    process.execPath,
    [...nodeArgs, bin, 'serve', '--data-dir', dir, '--listen', `127.0.0.1:${port}`, ...extra],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env } },
  );
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return child;
    } catch {
      // starting
    }
    await sleep(25);
  }
  throw new Error('server did not start');
}

/** The baseline: a bare node:http receiver that parses each body and appends it to a file, then answers. */
const BARE_RECEIVER = `
const http = require('node:http');
const fs = require('node:fs');
const out = fs.openSync(process.argv[2], 'a');
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    try { JSON.parse(body.toString('utf8')); } catch { res.writeHead(400).end(); return; }
    fs.write(out, body, (err) => {
      res.writeHead(err ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

async function bareReceiver(dir: string, port: number): Promise<ChildProcess> {
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, ['-e', BARE_RECEIVER, String(port), path.join(dir, 'bodies.jsonl')], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 400; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: '{}' });
      return child;
    } catch {
      await sleep(25);
    }
  }
  throw new Error('the bare receiver did not start');
}

/** Seconds until the server has stored every acknowledged batch (its segment log holds nothing pending). */
async function catchUp(url: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^kubetrail_segment_log_pending_bytes (\d+)/m.exec(text);
    if (!m || Number(m[1]) === 0) return (performance.now() - started) / 1000;
    await sleep(100);
  }
}

function makeBodies(count: number, seed: number): string[] {
  const gen = events(seed);
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    const items = [];
    for (let j = 0; j < batchSize; j++) items.push(gen.next().value);
    bodies.push(JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }));
  }
  return bodies;
}

/** Posts the bodies with `concurrency` connections for `secs`; a refused batch is resent after Retry-After. */
async function webhookLoad(url: string, pid: number | undefined, secs: number, bodies: string[]) {
  let next = 0;
  let acked = 0;
  let refused = 0;
  const latencies: number[] = [];
  let peak = 0;
  const started = performance.now();
  const until = started + secs * 1000;
  const sampler = setInterval(() => {
    if (pid) peak = Math.max(peak, rssMb(pid, 'VmRSS'));
  }, 100);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until && next < bodies.length) {
        const body = bodies[next++]!;
        for (;;) {
          const t = performance.now();
          const res = await fetch(`${url}/webhook?timeout=30s`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
          });
          await res.arrayBuffer();
          if (res.status === 200) {
            latencies.push(performance.now() - t);
            acked += batchSize;
            break;
          }
          if (res.status !== 429) throw new Error(`webhook answered ${res.status}`);
          refused++;
          if (performance.now() >= until) break;
          await sleep(Number(res.headers.get('retry-after') ?? 1) * 1000);
        }
      }
    }),
  );
  clearInterval(sampler);
  const elapsed = (performance.now() - started) / 1000;
  return {
    eventsPerSecond: acked / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    refused,
    peakRssMb: peak,
  };
}

async function fileLag(dir: string, port: number) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'audit.log');
  writeFileSync(file, '');
  const child = await serve(dir, port, ['--tail', file]);
  const url = `http://127.0.0.1:${port}`;
  const lagBytes = async () => {
    const t = await (await fetch(`${url}/metrics`)).text();
    return Number(/^kubetrail_file_lag_bytes\{[^}]*\} (\d+)/m.exec(t)?.[1] ?? 0);
  };
  const stored = async () => {
    const t = await (await fetch(`${url}/metrics`)).text();
    return Number(/^kubetrail_events_stored_total\{source="file:[^}]*\} (\d+)/m.exec(t)?.[1] ?? 0);
  };
  const gen = events(7);
  const secs = Math.min(10, seconds);
  let written = 0;
  let bytes = 0;
  const start = performance.now();
  let maxBehind = 0;
  while (performance.now() - start < secs * 1000) {
    // Write what is due at the target rate, in 50 ms steps.
    const due = Math.floor(((performance.now() - start) / 1000) * fileRate) - written;
    let chunk = '';
    for (let i = 0; i < due; i++) chunk += `${JSON.stringify(gen.next().value)}\n`;
    appendFileSync(file, chunk);
    written += due;
    bytes += Buffer.byteLength(chunk);
    maxBehind = Math.max(maxBehind, written - (await stored()));
    await sleep(50);
  }
  const stopWriting = performance.now();
  while ((await stored()) < written) await sleep(20);
  const catchUp = (performance.now() - stopWriting) / 1000;
  const lag = await lagBytes();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return {
    rate: written / secs,
    maxBehindEvents: maxBehind,
    maxLagSeconds: maxBehind / fileRate,
    catchUpSeconds: catchUp,
    bytesPerEvent: bytes / written,
    finalLagBytes: lag,
  };
}

async function slowStore(dir: string) {
  const config = configSchema.parse({
    dataDir: dir,
    listen: '127.0.0.1:0',
    autodetect: false,
    pipeline: { queueEvents: 500 },
  });
  const slow = {
    name: 'slow-down',
    apply: async (b: EventRecord[]) => {
      await sleep(2000);
      return b;
    },
  };
  const secs = Math.min(10, seconds);
  const bodies = makeBodies(Math.ceil((secs * 6000) / batchSize), 3);
  const c = await startCollector({ config, logger: pino({ level: 'silent' }), transforms: [slow] });
  const before = rssMb(process.pid, 'VmRSS');
  const r = await webhookLoad(c.url, process.pid, secs, bodies);
  await c.close();
  return { ...r, rssBeforeMb: before };
}

const dir = mkdtempSync(path.join(tmpdir(), 'kt-bench-collector-'));
try {
  const port = await freePort();
  log(`webhook: ${seconds}s, ${concurrency} connections, ${batchSize} events per batch`);
  const bodies = makeBodies(Math.ceil(((seconds + 1) * 60_000) / batchSize), 1);
  // The same bodies go to each receiver, one after the other.
  const bare = await bareReceiver(path.join(dir, 'bare'), port);
  const b = await webhookLoad(`http://127.0.0.1:${port}`, bare.pid, seconds, bodies);
  log(
    `  bare node:http: ${Math.round(b.eventsPerSecond)} events/s, p50 ${Math.round(b.p50)} ms, p99 ${Math.round(b.p99)} ms`,
  );
  bare.kill('SIGTERM');
  await new Promise((r) => bare.once('exit', r));
  const runs: Record<string, Awaited<ReturnType<typeof webhookLoad>> & { peak: number; catchUp: number }> =
    {};
  for (const mode of modes) {
    log(`webhook, acknowledge: ${mode}`);
    const d = path.join(dir, `a-${mode}`);
    mkdirSync(d, { recursive: true });
    const config = path.join(d, 'kubetrail.yaml');
    writeFileSync(config, `webhook: { acknowledge: ${mode} }\nautodetect: false\nlog: { level: warn }\n`);
    const p = await freePort();
    const server = await serve(d, p, ['--config', config]);
    const w = await webhookLoad(`http://127.0.0.1:${p}`, server.pid, seconds, bodies);
    log(
      `  ${Math.round(w.eventsPerSecond)} events/s acknowledged, p50 ${Math.round(w.p50)} ms, p99 ${Math.round(w.p99)} ms`,
    );
    const c = await catchUp(`http://127.0.0.1:${p}`);
    runs[mode] = { ...w, peak: rssMb(server.pid!, 'VmHWM'), catchUp: c };
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
  }
  bodies.length = 0;
  if (!webhookOnly) log(`file tail at ${fileRate} events/s`);
  const f = webhookOnly ? undefined : await fileLag(path.join(dir, 'b'), await freePort());
  if (!webhookOnly) log('slowed-down store');
  const s = webhookOnly ? undefined : await slowStore(path.join(dir, 'c'));
  const fmt = (v: number, d = 0) => v.toLocaleString('en-US', { maximumFractionDigits: d });
  const out = [
    '| measurement | value |',
    '|---|---:|',
    `| webhook baseline (bare node:http: parse, append to a file, no fsync): events/s / p50 / p99 (ms) | ${fmt(b.eventsPerSecond)} / ${fmt(b.p50, 1)} / ${fmt(b.p99, 1)} |`,
    ...modes.flatMap((mode) => {
      const w = runs[mode]!;
      const stored = (w.eventsPerSecond * seconds) / (seconds + w.catchUp);
      return [
        `| webhook (acknowledge: ${mode}): sustained events/s (${concurrency} connections, ${batchSize}-event batches, ${seconds}s) / ratio to the baseline | ${fmt(w.eventsPerSecond)} / ${fmt(w.eventsPerSecond / b.eventsPerSecond, 2)} |`,
        `| webhook (acknowledge: ${mode}): latency of the 200, p50 / p99 / max (ms) | ${fmt(w.p50, 1)} / ${fmt(w.p99, 1)} / ${fmt(w.max, 1)} |`,
        `| webhook (acknowledge: ${mode}): 429 answers / store catch-up after the load (s) / events/s stored, catch-up included | ${w.refused} / ${fmt(w.catchUp, 1)} / ${fmt(stored)} |`,
        `| webhook (acknowledge: ${mode}): server peak RSS (MB) | ${fmt(w.peak)} |`,
      ];
    }),
    ...(f
      ? [
          `| file tail: write rate (events/s) | ${fmt(f.rate)} |`,
          `| file tail: most events written but not yet stored / as seconds at that rate | ${fmt(f.maxBehindEvents)} / ${fmt(f.maxLagSeconds, 2)} s |`,
          `| file tail: catch-up after the writer stops (s) | ${fmt(f.catchUpSeconds, 2)} |`,
        ]
      : []),
    ...(s
      ? [
          `| slowed store (2 s per write): events/s accepted / 429 answers | ${fmt(s.eventsPerSecond)} / ${s.refused} |`,
          `| slowed store: RSS before / peak (MB) | ${fmt(s.rssBeforeMb)} / ${fmt(s.peakRssMb)} |`,
        ]
      : []),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
