// kill -9 for every forwarder at once: the built `kubetrail serve` forwards to a real rsyslog (TCP and
// TLS) and to loopback servers for Elasticsearch, OpenSearch, Splunk HEC (with acks), Loki, OTLP
// (protobuf and JSON), generic HTTP and a file, while a client posts webhook batches. The server is
// killed with SIGKILL in the middle of the stream, several times, and started again with the same data
// directory. Every event answered 200 (acknowledged: on disk in the segment log) must arrive at every
// destination at least once; Elasticsearch and OpenSearch, which take an ID, must hold each once.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../test-support/events.js';
import { FakeDestination } from '../test-support/forward-fakes.js';
import { available, BUILD, repoRoot } from '../test-support/requirements.js';
import { TestRsyslog } from '../test-support/rsyslog.js';
import { freePort, waitHealthy } from '../test-support/net.js';

const bin = path.join(repoRoot, 'bin/kubetrail.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** Starts `kubetrail serve` with a configuration; returns its URL and a stopper. */
async function serve(dir: string, lines: string[], env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = path.join(dir, `kubetrail-${port}.yaml`);
  writeFileSync(
    config,
    [
      `dataDir: ${JSON.stringify(dir)}`,
      `listen: 127.0.0.1:${port}`,
      'autodetect: false',
      'log: { level: warn }',
      ...lines,
    ].join('\n'),
  );
  const child = spawn(process.execPath, [bin, 'serve', '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stderr?.resume();
  await waitHealthy(url);
  return {
    url,
    metric: async (name: string) => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
        (a, m) => a + Number(m[1]),
        0,
      );
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const post = async (url: string, items: unknown[]) => {
  const res = await fetch(`${url}/webhook/e2e`, {
    method: 'POST',
    body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }),
    headers: { 'content-type': 'application/json' },
  });
  await res.arrayBuffer();
  return res.status;
};

describe.runIf(available(BUILD))('forwarders in the running collector', () => {
  it('drop-oldest: with the destination down the store keeps ingesting; the drop count is exact', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-fwd-outage-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dest = await FakeDestination.start('http');
    cleanup.push(() => dest.stop());
    dest.down = true;
    const s = await serve(dir, [
      'detect: { enabled: false }',
      'forward:',
      `  - { spec: "http:${dest.url}/ingest", name: h, queueBytes: 65536, whenFull: drop-oldest, retryInitialMs: 20, retryMaxMs: 100 }`,
    ]);
    cleanup.push(() => s.stop());
    const sent: string[] = [];
    for (let b = 0; b < 20; b++) {
      const items = Array.from({ length: 50 }, (_, j) => makeEvent({ auditID: `o-${b}-${j}` }));
      expect(await post(s.url, items)).toBe(200);
      for (const e of items) sent.push(e.auditID);
    }
    const end = Date.now() + 20_000;
    while ((await s.metric('kubetrail_events_stored_total')) < sent.length && Date.now() < end)
      await sleep(50);
    expect(await s.metric('kubetrail_events_stored_total')).toBe(sent.length);
    expect(await s.metric('kubetrail_forward_queue_bytes')).toBeLessThanOrEqual(65536);
    const dropped = await s.metric('kubetrail_forward_dropped_total');
    expect(dropped).toBeGreaterThan(0);
    dest.down = false;
    while ((await s.metric('kubetrail_forward_queue_events')) > 0 && Date.now() < end + 20_000)
      await sleep(50);
    expect(dest.ids().size + dropped).toBe(sent.length);
    expect(await s.metric('kubetrail_forward_sent_total')).toBe(sent.length - dropped);
  }, 60_000);

  it('block: a full forwarder queue backs up into 429 on the webhook; SIGTERM still stops; after the restart everything acknowledged arrives', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-fwd-block-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dest = await FakeDestination.start('http');
    cleanup.push(() => dest.stop());
    dest.down = true;
    const lines = [
      'detect: { enabled: false }',
      'pipeline: { queueEvents: 100, segmentMaxBytes: 1048576 }',
      'forward:',
      `  - { spec: "http:${dest.url}/ingest", name: h, queueBytes: 65536, retryInitialMs: 20, retryMaxMs: 100 }`,
    ];
    const s = await serve(dir, lines);
    cleanup.push(() => s.stop());
    const acknowledged: string[] = [];
    let refused = 0;
    for (let b = 0; b < 200 && refused === 0; b++) {
      const items = Array.from({ length: 50 }, (_, j) => makeEvent({ auditID: `b-${b}-${j}` }));
      const status = await post(s.url, items);
      if (status === 200) for (const e of items) acknowledged.push(e.auditID);
      else if (status === 429) refused++;
    }
    expect(refused).toBe(1);
    expect(await s.metric('kubetrail_forward_queue_bytes')).toBeLessThanOrEqual(65536);
    // The destination still down and the write path blocked on it: a SIGTERM stops the server.
    await s.stop();
    const again = await serve(dir, lines);
    cleanup.push(() => again.stop());
    dest.down = false;
    const end = Date.now() + 30_000;
    while (dest.ids().size < acknowledged.length && Date.now() < end) await sleep(50);
    expect(acknowledged.filter((id) => !dest.ids().has(id))).toEqual([]);
  }, 60_000);
});

describe.runIf(available(BUILD))('forwarders under SIGKILL', () => {
  it('deliver every acknowledged webhook event to every destination', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-fwd-kill-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const rsyslog = await TestRsyslog.create();
    cleanup.push(() => rsyslog.close());
    const es = await FakeDestination.start('elasticsearch');
    const os = await FakeDestination.start('elasticsearch');
    const hec = await FakeDestination.start('splunk', { token: 'hec-token-e2e', ack: true });
    const loki = await FakeDestination.start('loki');
    const otlpProto = await FakeDestination.start('otlp');
    const otlpJson = await FakeDestination.start('otlp');
    const http = await FakeDestination.start('http');
    const fakes = { es, os, hec, loki, otlpProto, otlpJson, http };
    for (const f of Object.values(fakes)) cleanup.push(() => f.stop());
    // Slow answers (and some dropped connections), so that batches are being sent when the kills come.
    for (const f of Object.values(fakes))
      for (let i = 0; i < 16; i++) f.faults.push(i % 4 === 3 ? { kind: 'drop' } : { kind: 'slow', ms: 300 });
    const out = path.join(dir, 'out', 'events.ndjson');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const config = path.join(dir, 'kubetrail.yaml');
    const common = 'retryInitialMs: 20, retryMaxMs: 200, batchEvents: 40';
    writeFileSync(
      config,
      [
        `dataDir: ${JSON.stringify(dir)}`,
        `listen: 127.0.0.1:${port}`,
        'autodetect: false',
        'detect: { enabled: false }',
        'pipeline: { lingerMs: 20 }',
        'log: { level: warn }',
        'forward:',
        `  - { spec: "elasticsearch:${es.url}", ${common} }`,
        `  - { spec: "opensearch:${os.url}", ${common} }`,
        `  - { spec: "splunk:${hec.url}", token: { env: KT_TEST_HEC }, ack: true, ackTimeoutMs: 500, ${common} }`,
        `  - { spec: "loki:${loki.url}", ${common} }`,
        `  - { spec: "otlp:${otlpProto.url}", ${common} }`,
        `  - { spec: "otlp:${otlpJson.url}", encoding: json, ${common} }`,
        `  - { spec: "http:${http.url}/ingest", ${common} }`,
        `  - { spec: "file:${out}", ${common} }`,
        `  - { spec: "syslog:tcp://127.0.0.1:${rsyslog.tcpPort}", appName: kt-tcp, ${common} }`,
        `  - { spec: "syslog:tls://127.0.0.1:${rsyslog.tlsPort}", appName: kt-tls, caFile: ${JSON.stringify(rsyslog.caFile)}, ${common} }`,
      ].join('\n'),
    );
    let server: ChildProcess | undefined;
    const start = async () => {
      server = spawn(process.execPath, [bin, 'serve', '--config', config], {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, KT_TEST_HEC: 'hec-token-e2e' },
      });
      let err = '';
      server.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      server.once('exit', (code) => {
        if (code !== null && code !== 0) process.stderr.write(`kubetrail serve exited ${code}: ${err}\n`);
      });
      await waitHealthy(url);
    };
    const kill = async () => {
      server?.kill('SIGKILL');
      await new Promise((r) => server?.once('exit', r));
    };
    cleanup.push(() => void server?.kill('SIGKILL'));
    await start();
    const acknowledged = new Set<string>();
    let kills = 0;
    let midStream = 0;
    for (let round = 0; round < 2; round++) {
      for (let b = 0; b < 8; b++) {
        const items = Array.from({ length: 25 }, (_, j) => makeEvent({ auditID: `k-${round}-${b}-${j}` }));
        const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items });
        const res = await fetch(`${url}/webhook/e2e`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json' },
        });
        await res.arrayBuffer();
        if (res.status === 200) for (const e of items) acknowledged.add(e.auditID);
      }
      // Killed in the middle of the stream: once the store has every batch (the segment log is empty),
      // while events are still queued or being sent to the destinations.
      const queued = async () => {
        const m = await (await fetch(`${url}/metrics`)).text();
        const value = (name: string) =>
          [...m.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce(
            (a, x) => a + Number(x[1]),
            0,
          );
        return {
          log: value('kubetrail_segment_log_pending_bytes'),
          forward: value('kubetrail_forward_queue_events'),
        };
      };
      const until = Date.now() + 10_000;
      let q = await queued();
      while (q.log > 0 && Date.now() < until) q = await queued();
      if (q.log === 0 && q.forward > 0) midStream++;
      await kill();
      kills++;
      await start();
    }
    expect(acknowledged.size).toBe(2 * 8 * 25);
    expect(midStream).toBe(kills);
    // Every destination gets every acknowledged event, at least once.
    const fileIds = () => {
      try {
        return new Set(
          readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => (JSON.parse(l) as { event: { auditID: string } }).event.auditID),
        );
      } catch {
        return new Set<string>();
      }
    };
    // Both rsyslog listeners write to one file; the two forwarders are told apart by their APP-NAME.
    const rsyslogIds = (app: string) => () =>
      new Set(
        rsyslog
          .received()
          .filter((r) => r.appName === app)
          .map((r) => (JSON.parse(r.msg) as { event: { auditID: string } }).event.auditID),
      );
    const sources: Record<string, () => Set<string>> = {
      ...Object.fromEntries(Object.entries(fakes).map(([k, f]) => [k, () => f.ids()])),
      file: fileIds,
      syslogTcp: rsyslogIds('kt-tcp'),
      syslogTls: rsyslogIds('kt-tls'),
    };
    const missing = () =>
      Object.fromEntries(
        Object.entries(sources).map(([k, ids]) => {
          const got = ids();
          return [k, [...acknowledged].filter((id) => !got.has(id)).length];
        }),
      );
    const end = Date.now() + 30_000;
    while (Date.now() < end && Object.values(missing()).some((n) => n > 0)) await sleep(100);
    expect({ kills, missing: missing() }).toEqual({
      kills,
      missing: Object.fromEntries(Object.keys(sources).map((k) => [k, 0])),
    });
    // IDs are content hashes: Elasticsearch and OpenSearch index each event once.
    expect(es.received).toHaveLength(acknowledged.size);
    expect(os.received).toHaveLength(acknowledged.size);
    server?.kill('SIGTERM');
    await new Promise((r) => server?.once('exit', r));
  }, 90_000);
});
