// Fault test: the built `kubetrail serve` is killed with SIGKILL at random moments while a writer appends
// to and rotates an audit log and a client posts webhook batches (resending until it gets a 200, as the
// API server does). After the last restart the stored set must equal the written set exactly: nothing
// lost, nothing stored twice. KUBETRAIL_FAULT_TRIALS sets the number of trials (default 2).
// A second test kills the server right after webhook batches are answered 200 (acknowledged once in the
// segment log, before the store has them): every acknowledged event must be stored once after restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseQuery } from '../query/index.js';
import { openStore } from '../store/open.js';
import { makeEvent } from '../test-support/events.js';
import { freePort, waitHealthy } from '../test-support/net.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');
const run = promisify(execFile);
const trials = Number(process.env.KUBETRAIL_FAULT_TRIALS ?? 2);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A small deterministic random generator per trial, so a failure can be replayed by its seed.
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

async function trial(seed: number): Promise<void> {
  const random = rng(seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-crash-'));
  dirs.push(dir);
  const log = path.join(dir, 'audit.log');
  writeFileSync(log, '');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = path.join(dir, 'kubetrail.yaml');
  writeFileSync(
    config,
    [
      `dataDir: ${JSON.stringify(dir)}`,
      `listen: 127.0.0.1:${port}`,
      'autodetect: false',
      'pipeline: { lingerMs: 5 }',
      'files:',
      `  - { path: ${JSON.stringify(log)}, startAt: beginning, cluster: files }`,
      'log: { level: warn }',
    ].join('\n'),
  );
  let server: ChildProcess | undefined;
  const startServer = () => {
    server = spawn(process.execPath, [bin, 'serve', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr?.resume();
  };
  startServer();
  await waitHealthy(url);

  const written = new Set<string>();
  let done = false;
  // Writer: appends lines, rotating (rename, then sometimes gzip in the background) every 100 lines.
  let rotations = 0;
  const writer = (async () => {
    for (let i = 0; i < 600; i++) {
      const e = makeEvent({ auditID: `file-${seed}-${i}` });
      appendFileSync(log, `${JSON.stringify(e)}\n`);
      written.add(`files/${e.auditID}`);
      if (i % 100 === 99) {
        const stamp = new Date(Date.UTC(2026, 0, 1, 0, 0, ++rotations)).toISOString().replace(/:/g, '-');
        const backup = path.join(dir, `audit-${stamp.slice(0, 23)}.log`);
        renameSync(log, backup);
        writeFileSync(log, '');
        if (random() < 0.5) void run('gzip', [backup]).catch(() => undefined);
      }
      if (i % 20 === 0) await sleep(5);
    }
  })();
  // Client: posts batches, resending each until it is answered 200.
  const client = (async () => {
    for (let b = 0; b < 30; b++) {
      const items = Array.from({ length: 20 }, (_, j) => makeEvent({ auditID: `hook-${seed}-${b}-${j}` }));
      for (const e of items) written.add(`hooks/${e.auditID}`);
      const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items });
      for (;;) {
        try {
          const res = await fetch(`${url}/webhook/hooks?timeout=30s`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
          });
          await res.arrayBuffer();
          if (res.status === 200) break;
        } catch {
          // connection refused or reset: the server is down; retry as the API server would
        }
        await sleep(20);
      }
      await sleep(5);
    }
  })();
  // Killer: SIGKILL at random moments, restart shortly after.
  let kills = 0;
  const killer = (async () => {
    while (!done) {
      await sleep(200 + random() * 700);
      if (done) break;
      server?.kill('SIGKILL');
      await new Promise((r) => server?.once('exit', r));
      kills++;
      await sleep(random() * 100);
      startServer();
      await waitHealthy(url);
    }
  })();
  await Promise.all([writer, client]);
  done = true;
  await killer;

  // Let the last server catch up: until every written event is stored, read through the running server
  // (the CLI's route while a server holds the store), or 30 s; then stop it cleanly and compare. The file
  // lag alone is no signal: it cannot count a rotation the source has not polled yet.
  await waitHealthy(url);
  const expected = written.size;
  const db = path.join(dir, 'kubetrail.duckdb');
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const live = await openStore(db, { readOnly: true });
    try {
      if ((await live.count(parseQuery('*'))) >= expected) break;
    } finally {
      await live.close();
    }
    await sleep(200);
  }
  await sleep(500);
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r));

  const store = await openStore(path.join(dir, 'kubetrail.duckdb'), { readOnly: true });
  try {
    const got: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.query({ filter: parseQuery('*'), limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const r of page.records) got.push(`${r.cluster}/${r.event.auditID}`);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    const have = new Set(got);
    const missing = [...written].filter((id) => !have.has(id));
    const twice = got.filter((id, i) => got.indexOf(id) !== i);
    expect({ seed, kills, missing: missing.slice(0, 10), missingCount: missing.length, twice }).toEqual({
      seed,
      kills,
      missing: [],
      missingCount: 0,
      twice: [],
    });
    expect(got.length).toBe(expected);
  } finally {
    await store.close();
  }
}

async function storedIds(dir: string): Promise<string[]> {
  const store = await openStore(path.join(dir, 'kubetrail.duckdb'), { readOnly: true });
  try {
    const got: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.query({ filter: parseQuery('*'), limit: 1000, ...(cursor ? { cursor } : {}) });
      for (const r of page.records) got.push(`${r.cluster}/${r.event.auditID}`);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    return got;
  } finally {
    await store.close();
  }
}

/** Kills the server with SIGKILL right after it acknowledged webhook batches; returns the events acknowledged. */
async function acknowledgedThenKilled(seed: number): Promise<void> {
  const random = rng(seed);
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-crash-log-'));
  dirs.push(dir);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = path.join(dir, 'kubetrail.yaml');
  // A long linger keeps acknowledged batches in the segment log, not yet stored, when the kill comes.
  writeFileSync(
    config,
    [
      `dataDir: ${JSON.stringify(dir)}`,
      `listen: 127.0.0.1:${port}`,
      'autodetect: false',
      'pipeline: { lingerMs: 300 }',
      'log: { level: warn }',
    ].join('\n'),
  );
  let server: ChildProcess | undefined;
  const startServer = async () => {
    server = spawn(process.execPath, [bin, 'serve', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    server.stderr?.resume();
    await waitHealthy(url);
  };
  await startServer();
  const acknowledged = new Set<string>();
  let kills = 0;
  for (let round = 0; round < 6; round++) {
    // Four clients post at once; the kill comes right after the round's last 200.
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 25 }, (_, j) => makeEvent({ auditID: `ack-${seed}-${round}-${b}-${j}` })),
    );
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < batches.length) {
          const items = batches[next++]!;
          const res = await fetch(`${url}/webhook/acks?timeout=30s`, {
            method: 'POST',
            body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }),
            headers: { 'content-type': 'application/json' },
          });
          await res.arrayBuffer();
          if (res.status === 200) for (const e of items) acknowledged.add(`acks/${e.auditID}`);
        }
      }),
    );
    server?.kill('SIGKILL');
    await new Promise((r) => server?.once('exit', r));
    kills++;
    await sleep(random() * 50);
    await startServer();
  }
  // The last start replays what the log holds; a clean stop writes it.
  for (let i = 0; i < 100; i++) {
    const m = /^kubetrail_segment_log_pending_bytes (\d+)/m.exec(
      await (await fetch(`${url}/metrics`)).text(),
    );
    if (m && Number(m[1]) === 0) break;
    await sleep(100);
  }
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r));
  const got = await storedIds(dir);
  const have = new Set(got);
  const missing = [...acknowledged].filter((id) => !have.has(id));
  const twice = got.filter((id, i) => got.indexOf(id) !== i);
  expect({ seed, kills, acknowledged: acknowledged.size, missing: missing.slice(0, 10), twice }).toEqual({
    seed,
    kills,
    acknowledged: 6 * 8 * 25,
    missing: [],
    twice: [],
  });
}

describe('collector under SIGKILL', () => {
  it(
    `stores every webhook event acknowledged before a SIGKILL, once (${trials} trials)`,
    async () => {
      for (let t = 0; t < trials; t++) await acknowledgedThenKilled(2000 + t * 7919);
    },
    trials * 120_000,
  );

  it(
    `loses nothing and stores nothing twice (${trials} trials)`,
    async () => {
      for (let t = 0; t < trials; t++) await trial(1000 + t * 7919);
    },
    trials * 120_000,
  );
});
