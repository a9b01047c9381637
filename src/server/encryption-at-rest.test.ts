// Encryption at rest, end to end: a collector with a data key takes webhook batches, follows an audit log
// file, quarantines bad records, raises alerts (kept with their outbox and the engine's state), forwards
// to a file and to HTTP destinations that are down or refuse (so queues and dead letters hold records),
// and answers queries; then every byte of every file under the data directory (the DuckDB store and its
// WAL included) is scanned for marker strings planted in every encrypted place of the events (request
// and response bodies, annotations, request URIs with their query strings, user agents, groups, extra
// user fields, impersonation, source addresses, status messages), as UTF-8 and JSON text, UTF-16 and
// base64: while running, after a checkpoint, and after the close. None may be found; with the key, the
// same events and alerts are found through the API and the store. A control run without a key finds the
// markers in the same files, so the scan can see them.
import { createServer, type Server } from 'node:http';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema, type Config } from '../config/schema.js';
import type { AuditEvent } from '../core/event.js';
import { createDataKeyFile } from '../crypto/key-file.js';
import type { DataKey } from '../crypto/cipher.js';
import { readQuarantineFile } from '../ingest/quarantine.js';
import { DiskQueue } from '../forward/disk-queue.js';
import { SegmentLog } from '../pipeline/segment-log.js';
import { parseQuery } from '../query/index.js';
import { openStore } from '../store/open.js';
import type { DuckDBStore } from '../store/duckdb/store.js';
import { runCli } from '../test-support/cli.js';
import { makeEvent } from '../test-support/events.js';
import { freePort } from '../test-support/net.js';
import { startCollector, type Collector } from './collector.js';
import { resealDataDir } from './reseal.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A marker that cannot occur by chance: a word, a tag and random hex. */
const marker = (tag: string) => `ktmark${tag}${randomBytes(6).toString('hex')}`;

interface Planted {
  events: AuditEvent[];
  /** Every marker, by `PREFIX.PLACE`. */
  markers: Record<string, string>;
}

/** Events with a marker in every place that is sealed at rest (index columns stay in clear by design). */
function plant(prefix: string, verb = 'create'): Planted {
  const m = {
    requestBody: marker(`${prefix}reqbody`),
    responseBody: marker(`${prefix}respbody`),
    annotation: marker(`${prefix}annot`),
    query: marker(`${prefix}query`),
    userAgent: marker(`${prefix}ua`),
    group: marker(`${prefix}group`),
    extra: marker(`${prefix}extra`),
    impersonated: marker(`${prefix}imp`),
    impersonatedGroup: marker(`${prefix}impgroup`),
    statusMessage: marker(`${prefix}status`),
    sourceIP: `203.0.${100 + (randomBytes(1)[0]! % 100)}.${10 + (randomBytes(1)[0]! % 200)}`,
  };
  const event = makeEvent({
    level: 'RequestResponse',
    verb,
    requestURI: `/api/v1/namespaces/default/configmaps?fieldSelector=${m.query}`,
    user: {
      username: 'alice@example.com',
      groups: [m.group, 'system:authenticated'],
      extra: { 'example.com/team': [m.extra] },
    },
    impersonatedUser: { username: m.impersonated, groups: [m.impersonatedGroup] },
    sourceIPs: [m.sourceIP],
    userAgent: `kubectl/${m.userAgent}`,
    objectRef: { resource: 'configmaps', namespace: 'default', name: 'settings', apiVersion: 'v1' },
    requestObject: { kind: 'ConfigMap', data: { note: m.requestBody } },
    responseObject: { kind: 'Status', details: { note: m.responseBody } },
    responseStatus: { metadata: {}, code: 403, message: `forbidden: ${m.statusMessage}` },
    annotations: { 'authorization.k8s.io/decision': 'forbid', 'example.com/note': m.annotation },
  });
  return {
    events: [event],
    markers: Object.fromEntries(Object.entries(m).map(([k, v]) => [`${prefix}.${k}`, v])),
  };
}

/** The forms a marker could take in a file: UTF-8 (and JSON) text, UTF-16LE, and base64 at each alignment. */
function needles(text: string): Buffer[] {
  const out = [Buffer.from(text, 'utf8'), Buffer.from(text, 'utf16le')];
  for (let shift = 0; shift < 3; shift++) {
    const b64 = Buffer.concat([Buffer.alloc(shift), Buffer.from(text)]).toString('base64');
    // The characters that do not depend on the bytes around the marker.
    out.push(Buffer.from(b64.slice(shift === 0 ? 0 : 4, -4)));
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Every (file, place) where a marker is found, in any of its forms. */
function scan(dir: string, markers: Record<string, string>): string[] {
  const found: string[] = [];
  const forms = Object.entries(markers).map(([place, m]) => ({ place, forms: needles(m) }));
  for (const file of filesUnder(dir)) {
    const bytes = readFileSync(file);
    for (const { place, forms: f } of forms) {
      if (f.some((n) => bytes.includes(n))) found.push(`${path.relative(dir, file)}: ${place}`);
    }
  }
  return found;
}

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-at-rest-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** An HTTP server that refuses every batch for good (400), echoing what it got in the answer. */
async function refusingServer(): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(Buffer.concat(chunks).subarray(0, 2000));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const addr = server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}/`;
}

const RULES = `rules:
  - id: marked-request
    title: Refused configmap write
    description: A refused write, with the client, address and URI in the message.
    severity: high
    condition: 'verb:create resource:configmaps'
    output: '{user} was refused from {ip} with {ua} on {uri} ({groups})'
    suppress: { window: 1h, by: [ua, ip] }
  - id: marked-first-seen
    title: New client for a group
    description: First-seen state keyed by user agent, valued by address.
    severity: medium
    condition: 'resource:configmaps'
    firstSeen: { key: [ua], value: [ip], learn: 1s }
    output: '{ua} used from a new address {ip}'
`;

interface Run {
  root: string;
  dataDir: string;
  collector: Collector;
  markers: Record<string, string>;
  /** Audit IDs of the events sent, and the user agents (to query by). */
  sent: { auditID: string; userAgent: string }[];
  token: string;
  close(): Promise<void>;
}

/** Starts a collector (with `key`, or without) and feeds it every kind of input; waits until stored. */
async function feed(key: 'key' | 'none'): Promise<Run & { keyFile?: string }> {
  const root = tempDir();
  const dataDir = path.join(root, 'data');
  const keyFile = key === 'key' ? path.join(root, 'data.key') : undefined;
  if (keyFile) createDataKeyFile(keyFile);
  const logs = path.join(root, 'logs');
  mkdirSync(logs);
  const markers: Record<string, string> = {};
  const sent: Run['sent'] = [];
  const add = (p: Planted) => {
    Object.assign(markers, p.markers);
    for (const e of p.events) sent.push({ auditID: e.auditID, userAgent: e.userAgent! });
    return p.events;
  };
  // A file the collector follows from its beginning: an event and a line that is not one.
  const fileEvents = add(plant('file'));
  const badLine = marker('badline');
  markers.badLine = badLine;
  writeFileSync(
    path.join(logs, 'audit.log'),
    `${fileEvents.map((e) => JSON.stringify(e)).join('\n')}\n{"broken": "${badLine}"\n`,
  );
  const rules = path.join(root, 'rules.yaml');
  writeFileSync(rules, RULES);
  const dead = `http://127.0.0.1:${await freePort()}/`;
  const config: Config = configSchema.parse({
    dataDir,
    listen: '127.0.0.1:0',
    autodetect: false,
    files: [{ path: path.join(logs, 'audit.log'), startAt: 'beginning' }],
    ...(keyFile ? { encryption: { keyFile } } : {}),
    detect: { rules: [rules], outputs: [`webhook:${dead}alerts`], minSeverity: 'info' },
    forward: [
      { spec: `file:${path.join(root, 'out', 'forwarded.ndjson')}`, name: 'to-file' },
      { spec: `http:${dead}`, name: 'down', retryInitialMs: 50, retryMaxMs: 200 },
      { spec: `http:${await refusingServer()}`, name: 'refusing' },
    ],
  });
  const collector = await startCollector({ config, logger: pino({ level: 'silent' }) });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await collector.close();
  };
  cleanups.push(close);
  // Webhook batches (through the segment log), one with an item that is not an event.
  const notEvent = marker('webhookbad');
  markers.webhookBad = notEvent;
  for (let i = 0; i < 2; i++) {
    const items = add(plant(`hook${i}`));
    const body = JSON.stringify({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [...items, ...(i === 0 ? [{ note: notEvent }] : [])],
    });
    const res = await fetch(`${collector.url}/webhook`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
  }
  await collector.settled();
  // Wait until the followed file's event is stored, and the quarantine has both bad records.
  const { token } = collector.auth.tokens.create({ role: 'analyst', name: 'reader' });
  for (let i = 0; i < 400; i++) {
    const span = await collector.store.span();
    if ((span?.events ?? 0) >= sent.length && collector.queue.depth === 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { root, dataDir, collector, markers, sent, token, close, ...(keyFile ? { keyFile } : {}) };
}

async function api(run: Run, route: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${run.collector.url}${route}`, {
    headers: { authorization: `Bearer ${run.token}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/** Queries through the API (one filter with a marker in it, so the access log holds one). */
async function queryAll(run: Run): Promise<void> {
  for (const s of run.sent) {
    const q = encodeURIComponent(`ua:"${s.userAgent}"`);
    const body = await api(run, `/api/v1/events?q=${q}`);
    const ids = (body.events as AuditEvent[]).map((e) => e.auditID);
    expect(ids).toContain(s.auditID);
  }
}

describe('encryption at rest', () => {
  it('no marker is readable anywhere under the data directory; the events and alerts are found with the key', async () => {
    const run = await feed('key');
    const { collector, dataDir, markers } = run;
    await queryAll(run);
    // Alerts were raised, with the markers in their messages.
    const alerts = (await api(run, '/api/v1/alerts')).alerts as { rule: string; message: string }[];
    const marked = alerts.filter((a) => a.rule === 'marked-request');
    expect(marked.length).toBeGreaterThan(0);
    expect(marked.some((a) => a.message.includes(run.sent[0]!.userAgent))).toBe(true);
    // The forwarder writing outside the data directory got the events (in clear, as its destination).
    const forwarded = path.join(run.root, 'out', 'forwarded.ndjson');
    for (let i = 0; i < 200 && !statSync(forwarded, { throwIfNoEntry: false })?.size; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(readFileSync(forwarded, 'utf8')).toContain(markers['file.requestBody']);
    // Dead letters of the refusing destination are written.
    const deadLetter = path.join(dataDir, 'forward', 'refusing', 'dead-letter.ndjson');
    for (let i = 0; i < 200 && !statSync(deadLetter, { throwIfNoEntry: false })?.size; i++)
      await new Promise((r) => setTimeout(r, 25));
    expect(statSync(deadLetter).size).toBeGreaterThan(0);

    // While running (DuckDB's WAL holds the newest rows), then after a checkpoint.
    const whileRunning = scan(dataDir, markers);
    await (collector.store as DuckDBStore).connection.run('CHECKPOINT');
    const afterCheckpoint = scan(dataDir, markers);
    await run.close();
    const afterClose = scan(dataDir, markers);
    // The files beside the store first (the rest of the test reads them back), the store at the end.
    const store = (f: string) => f.startsWith('kubetrail.duckdb');
    const leaks = { whileRunning, afterCheckpoint, afterClose };
    const pick = (keep: (f: string) => boolean) =>
      Object.fromEntries(Object.entries(leaks).map(([k, v]) => [k, v.filter(keep)]));
    const none = { whileRunning: [], afterCheckpoint: [], afterClose: [] };
    expect(pick((f) => !store(f))).toEqual(none);

    // With the key, everything reads back: the store's events by an encrypted field, the alerts, the
    // quarantine, the forwarder queue still waiting for its destination.
    const { loadDataKey } = await import('../crypto/key-file.js');
    const key: DataKey = loadDataKey(run.keyFile!);
    const reopened = await openStore(path.join(dataDir, 'kubetrail.duckdb'), { key });
    try {
      const page = await reopened.query({
        filter: parseQuery(`ua:"${run.sent[1]!.userAgent}"`),
        limit: 10,
      });
      expect(page.records.map((r) => r.event.auditID)).toEqual([run.sent[1]!.auditID]);
      expect(JSON.stringify(page.records[0]!.event)).toContain(markers['hook0.requestBody']);
      const log = (await reopened.alertLog({ existing: true }))!;
      expect((await log.list()).some((a) => a.message.includes(run.sent[0]!.userAgent))).toBe(true);
    } finally {
      await reopened.close();
    }
    const quarantine = readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'), key);
    expect(quarantine.map((q) => q.raw).join('\n')).toContain(markers.badLine);
    expect(quarantine.map((q) => q.raw).join('\n')).toContain(markers.webhookBad);
    expect(() => readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'))).toThrow(
      expect.objectContaining({ code: 'KT_KEY_REQUIRED' }),
    );
    const queueDir = path.join(dataDir, 'forward', 'down', 'queue');
    await expect(DiskQueue.open(queueDir, 1 << 30, 'block')).rejects.toMatchObject({
      code: 'KT_KEY_REQUIRED',
    });
    const queue = await DiskQueue.open(queueDir, 1 << 30, 'block', key);
    expect(queue.pendingRecords).toBe(run.sent.length);
    await queue.close();

    // `kubetrail key rotate`: the store, its detection tables and every file beside it are sealed again
    // with a new key, which alone opens them afterwards.
    const nextFile = path.join(run.root, 'next.key');
    const next = createDataKeyFile(nextFile);
    const db = path.join(dataDir, 'kubetrail.duckdb');
    const rotation = await runCli([
      'key',
      'rotate',
      '--db',
      db,
      '--key-file',
      run.keyFile!,
      '--new-key-file',
      nextFile,
    ]);
    expect(rotation.code).toBe(0);
    for (const f of [
      'access.log',
      'forward/down/queue',
      'forward/refusing/dead-letter.ndjson',
      'quarantine.jsonl',
      'segments',
    ])
      expect(rotation.err).toContain(path.join(dataDir, f));
    expect(scan(dataDir, markers)).toEqual([]);
    const rekeyed = await openStore(db, { key: next });
    try {
      const log = (await rekeyed.alertLog({ existing: true }))!;
      expect((await log.list()).some((a) => a.message.includes(run.sent[0]!.userAgent))).toBe(true);
    } finally {
      await rekeyed.close();
    }
    expect(readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'), next).map((q) => q.raw)).toContain(
      quarantine[0]!.raw,
    );
    expect(() => readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'), key)).toThrow(
      expect.objectContaining({ code: 'KT_KEY_MISMATCH' }),
    );
    await expect(DiskQueue.open(queueDir, 1 << 30, 'block', key)).rejects.toMatchObject({
      code: 'KT_KEY_MISMATCH',
    });
    const rotated = await DiskQueue.open(queueDir, 1 << 30, 'block', next);
    const taken = await rotated.take(100, 1 << 30);
    expect(taken.map((f) => f.payload.toString()).join('')).toContain(markers['hook1.statusMessage']);
    await rotated.close();
    const log = await SegmentLog.open({ dir: path.join(dataDir, 'segments'), maxBytes: 1 << 30, key: next });
    await log.close();
    // Running it again (an interrupted rotation finished) changes nothing that matters.
    await resealDataDir(dataDir, { from: key, to: next });
    expect(readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'), next)).toHaveLength(quarantine.length);
    expect(
      (await runCli(['key', 'rotate', '--db', db, '--key-file', run.keyFile!, '--new-key-file', nextFile]))
        .code,
    ).toBe(0);
    expect(readQuarantineFile(path.join(dataDir, 'quarantine.jsonl'), next)).toHaveLength(quarantine.length);

    // The store file and its WAL (row sealing is the store's).
    expect(pick(store)).toEqual(none);
  }, 60_000);

  it('control: without a key the same scan finds the markers in the same files', async () => {
    const run = await feed('none');
    await queryAll(run);
    await (run.collector.store as DuckDBStore).connection.run('CHECKPOINT');
    await run.close();
    const found = scan(run.dataDir, run.markers);
    const files = new Set(found.map((f) => f.split(':')[0]!.split(path.sep).slice(0, 2).join('/')));
    for (const f of [
      'quarantine.jsonl',
      'access.log',
      'kubetrail.duckdb',
      'forward/down',
      'forward/refusing',
      'segments',
    ])
      expect(
        [...files].some((x) => x.startsWith(f)),
        `${f} in ${[...files].join(', ')}`,
      ).toBe(true);
  }, 60_000);
});
