// syslog to a real rsyslog (src/test-support/rsyslog.ts): RFC 5424 messages with octet-counting framing
// over TCP and over TLS, parsed by rsyslog into the expected header fields; and the outage test for the
// syslog forwarder (rsyslog stopped while events are handed over, then started again).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../../test-support/events.js';
import { TestRsyslog } from '../../test-support/rsyslog.js';
import { ForwarderSet } from '../index.js';
import { forwardSchema, type ForwardConfig } from '../options.js';
import type { ForwardRecord } from '../types.js';
import { frame, syslogMessage } from './syslog.js';

let rsyslog: TestRsyslog;
beforeAll(async () => {
  rsyslog = await TestRsyslog.create();
});
afterAll(async () => {
  await rsyslog?.close();
});

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let seq = 0;
const batchOf = (n: number, tag: string) =>
  Array.from({ length: n }, () => rec(makeEvent({ auditID: `${tag}-${++seq}` }), 'prod'));

async function openSet(entry: Partial<ForwardConfig> & { spec: string }) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'kt-syslog-'));
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const set = await ForwarderSet.open(
    [forwardSchema.parse({ retryInitialMs: 10, retryMaxMs: 100, ...entry })],
    {
      dataDir,
      log: () => undefined,
    },
  );
  cleanup.push(() => set.close(100));
  return { set, stats: () => set.stats()[0]! };
}

describe('syslog framing', () => {
  it('writes RFC 5424 with the byte length first (octet counting)', () => {
    const r = {
      cluster: 'c',
      hash: 'h',
      event: makeEvent({
        auditID: 'é-1',
        stageTimestamp: '2024-05-01T10:00:00.123456Z',
      }) as ForwardRecord['event'],
    };
    const m = syslogMessage(r, { facility: 16, hostname: 'node-1', appName: 'kubetrail' });
    expect(m).toMatch(/^<134>1 2024-05-01T10:00:00\.123456Z node-1 kubetrail \d+ audit - \{"cluster":"c"/);
    const f = frame(m);
    expect(f.slice(0, f.indexOf(' '))).toBe(String(Buffer.byteLength(m)));
    expect(Buffer.byteLength(m)).toBeGreaterThan(m.length); // "é" is two bytes: lengths are bytes
  });
});

describe('syslog to rsyslog', () => {
  for (const mode of ['tcp', 'tls'] as const) {
    it(`${mode}: every event arrives, parsed by rsyslog as RFC 5424`, async () => {
      const port = mode === 'tcp' ? rsyslog.tcpPort : rsyslog.tlsPort;
      const { set, stats } = await openSet({
        spec: `syslog:${mode}://127.0.0.1:${port}`,
        hostname: 'collector-1',
        batchEvents: 64,
        ...(mode === 'tls' ? { caFile: rsyslog.caFile } : {}),
      });
      const events = batchOf(300, mode);
      for (let i = 0; i < 300; i += 50) await set.write(events.slice(i, i + 50));
      await until(() => stats().sent === 300);
      const want = new Set(events.map((r) => r.event.auditID));
      await until(() => rsyslog.auditIDs().filter((id) => want.has(id)).length >= 300);
      const got = rsyslog.received().filter((r) => r.msg.includes(`"auditID":"${mode}-`));
      expect(
        new Set(got.map((r) => (JSON.parse(r.msg) as { event: { auditID: string } }).event.auditID)),
      ).toEqual(want);
      expect(got[0]).toMatchObject({
        hostname: 'collector-1',
        appName: 'kubetrail',
        procId: String(process.pid),
        msgId: 'audit',
      });
      const first = JSON.parse(
        got.find((g) => g.msg.includes(`"${events[0]!.event.auditID}"`))!.msg,
      ) as Record<string, unknown>;
      expect(first.event).toEqual(events[0]!.event);
      expect(first.cluster).toBe('prod');
    });
  }

  for (const whenFull of ['drop-oldest', 'block'] as const) {
    it(`outage, ${whenFull}: rsyslog down, the queue bounded, then what was kept arrives`, async () => {
      await rsyslog.stop();
      const { set, stats } = await openSet({
        spec: `syslog:tcp://127.0.0.1:${rsyslog.tcpPort}`,
        queueBytes: 64 * 1024,
        whenFull,
        batchEvents: 50,
      });
      const sent: string[] = [];
      let blocked: Promise<void> | undefined;
      for (let i = 0; i < 40 && !blocked; i++) {
        const b = batchOf(10, `out-${whenFull}`);
        for (const r of b) sent.push(r.event.auditID);
        const w = set.write(b);
        const done = await Promise.race([
          w.then(() => true),
          new Promise((r) => setTimeout(() => r(false), 300)),
        ]);
        if (!done) blocked = w;
        expect(stats().queueBytes).toBeLessThanOrEqual(64 * 1024);
      }
      if (whenFull === 'block') expect(blocked).toBeDefined();
      else expect(stats().dropped).toBeGreaterThan(0);
      await rsyslog.start();
      await blocked;
      await until(() => stats().queueRecords === 0);
      const mine = new Set(sent);
      await until(
        () => new Set(rsyslog.auditIDs().filter((id) => mine.has(id))).size === sent.length - stats().dropped,
      );
    });
  }
});
