// Outage, for every forwarder: the destination is down while the write path goes on handing over
// events. With `drop-oldest` every write returns at once (the store keeps ingesting), the queue stays
// within its bound, and once the destination is back it receives exactly the events not counted as
// dropped. With `block` the queue fills to its bound, the next write waits (backpressure), and once the
// destination is back everything is delivered, the waiting write included.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { makeEvent, rec } from '../test-support/events.js';
import { FakeDestination, type FakeApi } from '../test-support/forward-fakes.js';
import { ForwarderSet } from './index.js';
import { forwardSchema } from './options.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Case {
  name: string;
  api: FakeApi | 'file';
  spec: (url: string) => string;
  extra?: Record<string, unknown>;
}

const CASES: Case[] = [
  { name: 'elasticsearch', api: 'elasticsearch', spec: (u) => `elasticsearch:${u}` },
  { name: 'opensearch', api: 'elasticsearch', spec: (u) => `opensearch:${u}` },
  { name: 'splunk', api: 'splunk', spec: (u) => `splunk:${u}`, extra: { token: { env: 'HEC' }, ack: true } },
  { name: 'loki', api: 'loki', spec: (u) => `loki:${u}` },
  { name: 'otlp protobuf', api: 'otlp', spec: (u) => `otlp:${u}` },
  { name: 'otlp json', api: 'otlp', spec: (u) => `otlp:${u}`, extra: { encoding: 'json' } },
  { name: 'http', api: 'http', spec: (u) => `http:${u}/ingest` },
];

const QUEUE = 64 * 1024;
let seq = 0;
const batchOf = (n: number): EventRecord[] =>
  Array.from({ length: n }, () => rec(makeEvent({ auditID: `out-${++seq}` })));

async function setUp(c: Case, whenFull: 'block' | 'drop-oldest') {
  const fake = await FakeDestination.start(c.api as FakeApi, { token: 'tok-0123456789', ack: true });
  cleanup.push(() => fake.stop());
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kt-outage-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const entry = forwardSchema.parse({
    spec: c.spec(fake.url),
    name: 'f',
    queueBytes: QUEUE,
    whenFull,
    retryInitialMs: 5,
    retryMaxMs: 30,
    timeoutMs: 2000,
    batchEvents: 50,
    ...c.extra,
  });
  const set = await ForwarderSet.open([entry], {
    dataDir,
    log: () => undefined,
    env: { HEC: 'tok-0123456789' },
  });
  cleanup.push(() => set.close(100));
  return { fake, set, stats: () => set.stats()[0]! };
}

describe('a destination down for a while', () => {
  for (const c of CASES) {
    it(`${c.name}, drop-oldest: ingest goes on, the queue stays bounded, exactly the undropped events arrive`, async () => {
      const { fake, set, stats } = await setUp(c, 'drop-oldest');
      fake.down = true;
      const sent: string[] = [];
      for (let i = 0; i < 40; i++) {
        const b = batchOf(10);
        for (const r of b) sent.push(r.event.auditID);
        const t = Date.now();
        await set.write(b);
        expect(Date.now() - t).toBeLessThan(1000); // never waits on the destination
        expect(stats().queueBytes).toBeLessThanOrEqual(QUEUE);
      }
      const dropped = stats().dropped;
      expect(dropped).toBeGreaterThan(0);
      fake.down = false;
      await until(() => stats().queueRecords === 0);
      const got = fake.ids();
      expect(got.size + dropped).toBe(sent.length);
      for (const id of got) expect(sent).toContain(id);
      expect(stats().sent).toBe(sent.length - dropped);
    });

    it(`${c.name}, block: the queue fills to its bound, the write path waits, then everything arrives`, async () => {
      const { fake, set, stats } = await setUp(c, 'block');
      await fake.stop();
      const sent: string[] = [];
      let blocked: Promise<void> | undefined;
      for (let i = 0; i < 100 && !blocked; i++) {
        const b = batchOf(10);
        for (const r of b) sent.push(r.event.auditID);
        const w = set.write(b);
        const done = await Promise.race([
          w.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 300)),
        ]);
        if (!done) blocked = w;
      }
      expect(blocked).toBeDefined();
      expect(stats().queueBytes).toBeGreaterThan(QUEUE * 0.8);
      expect(stats().queueBytes).toBeLessThanOrEqual(QUEUE);
      await fake.restart();
      await blocked;
      await until(() => stats().queueRecords === 0);
      expect(fake.ids()).toEqual(new Set(sent));
      expect(stats().dropped).toBe(0);
    });
  }

  it('file, drop-oldest: an unwritable directory is an outage too', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'kt-outage-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const out = path.join(dataDir, 'blocker', 'audit.ndjson');
    const { writeFileSync, unlinkSync } = await import('node:fs');
    writeFileSync(path.join(dataDir, 'blocker'), ''); // a file where the directory should be
    const entry = forwardSchema.parse({
      spec: `file:${out}`,
      queueBytes: QUEUE,
      whenFull: 'drop-oldest',
      retryInitialMs: 5,
      retryMaxMs: 30,
    });
    const set = await ForwarderSet.open([entry], { dataDir, log: () => undefined });
    cleanup.push(() => set.close(100));
    const stats = () => set.stats()[0]!;
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const b = batchOf(10);
      for (const r of b) sent.push(r.event.auditID);
      await set.write(b);
    }
    expect(stats().dropped).toBeGreaterThan(0);
    unlinkSync(path.join(dataDir, 'blocker'));
    await until(() => stats().queueRecords === 0);
    const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
    expect(lines.length + stats().dropped).toBe(sent.length);
  });
});
