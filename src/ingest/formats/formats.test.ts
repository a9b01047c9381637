// The format registry: each shape is recognized by its own format (and by no format tried before it) and
// normalized into the same audit.k8s.io/v1 Event; a record of no known shape is set aside in the
// quarantine with its file, line and the path of what it lacks.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/event.js';
import { makeEvent } from '../../test-support/events.js';
import { decodeLine } from '../decode.js';
import { normalizeDocument } from '../normalize.js';
import { createMemoryQuarantine } from '../quarantine.js';
import { readEvents } from '../read.js';
import { DOCUMENT_FORMATS, FORMATS, RECORD_FORMATS } from './index.js';
import type { Obj } from './shape.js';

const base = makeEvent({ verb: 'delete', auditID: 'a-1' });
const v1beta1 = { ...base, apiVersion: 'audit.k8s.io/v1beta1', timestamp: base.stageTimestamp };

const gke = {
  protoPayload: {
    '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
    authenticationInfo: { principalEmail: 'dev@example.com' },
    methodName: 'io.k8s.core.v1.secrets.delete',
    resourceName: 'core/v1/namespaces/prod/secrets/db',
    requestMetadata: { callerIp: '10.0.0.1' },
    status: {},
  },
  operation: { id: 'op-1' },
  timestamp: '2026-11-01T10:00:00.000000Z',
};

/** One sample per format: the format's name, the input, and the verb its event must have. */
const SAMPLES: { format: string; level: 'document' | 'record'; input: Obj; events: number }[] = [
  { format: 'audit.k8s.io/v1 Event', level: 'record', input: base as unknown as Obj, events: 1 },
  { format: 'audit.k8s.io/v1beta1 Event', level: 'record', input: v1beta1, events: 1 },
  {
    format: 'audit.k8s.io EventList',
    level: 'document',
    input: { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [base, v1beta1] },
    events: 2,
  },
  {
    format: 'EKS CloudWatch Logs',
    level: 'record',
    input: { timestamp: 1, message: JSON.stringify(base) },
    events: 1,
  },
  {
    format: 'EKS CloudWatch Logs',
    level: 'document',
    input: { logEvents: [{ id: '1', timestamp: 1, message: JSON.stringify(base) }] },
    events: 1,
  },
  {
    format: 'AKS diagnostic logs',
    level: 'record',
    input: { category: 'kube-audit', properties: { log: JSON.stringify(base) } },
    events: 1,
  },
  {
    format: 'AKS diagnostic logs',
    level: 'document',
    input: { records: [{ category: 'kube-audit-admin', properties: { log: JSON.stringify(base) } }] },
    events: 1,
  },
  { format: 'GKE Cloud Audit Logs', level: 'record', input: gke, events: 1 },
];

describe('the format registry', () => {
  it('has one file per shape, each named once', () => {
    expect(FORMATS.map((f) => f.name)).toEqual([
      'audit.k8s.io EventList',
      'audit.k8s.io/v1beta1 Event',
      'audit.k8s.io/v1 Event',
      'AKS diagnostic logs',
      'EKS CloudWatch Logs',
      'GKE Cloud Audit Logs',
    ]);
  });

  for (const s of SAMPLES) {
    it(`recognizes and normalizes a ${s.format} ${s.level}`, () => {
      const formats = s.level === 'document' ? DOCUMENT_FORMATS : RECORD_FORMATS;
      // The first format of its level that recognizes the sample is its own.
      const first = formats.find((f) => f.recognize(s.input));
      const own = FORMATS.find((f) => f.name === s.format)!;
      expect(first).toBe(s.level === 'document' ? own.document : own.record);
      const out = normalizeDocument(structuredClone(s.input));
      expect(out).toHaveLength(s.events);
      for (const n of out) {
        if (!('event' in n)) throw new Error(n.error);
        const e: AuditEvent = n.event;
        expect(e).toMatchObject({ kind: 'Event', apiVersion: 'audit.k8s.io/v1', verb: 'delete' });
        expect(e.auditID).toBe(s.format === 'GKE Cloud Audit Logs' ? 'op-1' : 'a-1');
      }
    });
  }

  it('normalizes the same event to the same value whatever shape carried it', () => {
    const events = SAMPLES.filter((s) => s.format !== 'GKE Cloud Audit Logs').flatMap((s) =>
      normalizeDocument(structuredClone(s.input)).map((n) => ('event' in n ? n.event : n)),
    );
    const plain = events.filter((e) => !('timestamp' in e));
    expect(plain.length).toBeGreaterThan(4);
    for (const e of plain) expect(e).toEqual(base);
  });

  it('sets aside each bad item of a document alone, not the whole document again for each', () => {
    const big = makeEvent({ auditID: 'big', annotations: { note: 'x'.repeat(20_000) } });
    const bad = [{ verb: 1 }, { verb: 2 }, { verb: 3 }];
    const doc = { kind: 'EventList', items: [big, ...bad] };
    const quarantine = createMemoryQuarantine();
    const t = { file: 'POST /webhook/c1', cluster: 'c1', quarantine, out: [] };
    expect(decodeLine(JSON.stringify(doc), 1, t)).toBe(3);
    expect(t.out).toHaveLength(1);
    expect(quarantine.all.map((b) => b.raw)).toEqual(bad.map((b) => JSON.stringify(b)));
    expect(quarantine.all.map((b) => b.reason)).toEqual([
      'verb must be a string, not a number (at items[1].verb)',
      'verb must be a string, not a number (at items[2].verb)',
      'verb must be a string, not a number (at items[3].verb)',
    ]);
  });

  it('places an error inside a document by its path', () => {
    const out = normalizeDocument({ kind: 'EventList', items: [base, { verb: 7 }] });
    expect(out[1]).toEqual({
      error: 'verb must be a string, not a number',
      path: 'items[1].verb',
      record: { verb: 7 },
    });
    const aks = normalizeDocument({
      records: [{ category: 'kube-audit', properties: { log: '{"verb":1}' } }],
    });
    expect(aks[0]).toMatchObject({ path: 'records[0].properties.log.verb' });
  });

  it('recognizes no shape in an unknown record, which the decoder sets aside with its position', () => {
    const unknown = { hello: 'world', when: '2026-11-01T10:00:00Z' };
    for (const f of RECORD_FORMATS) expect(f.recognize(unknown)).toBe(false);
    for (const f of DOCUMENT_FORMATS) expect(f.recognize(unknown)).toBe(false);
    const quarantine = createMemoryQuarantine();
    const out: never[] = [];
    const outcome = decodeLine(JSON.stringify(unknown), 7, { file: 'x.log', cluster: 'c', quarantine, out });
    expect(outcome).toBe(1);
    expect(out).toHaveLength(0);
    expect(quarantine.all).toEqual([
      {
        file: 'x.log',
        line: 7,
        reason: 'not an audit event: it has neither verb nor requestURI (at verb)',
        raw: JSON.stringify(unknown),
      },
    ]);
  });

  describe('read from a file', () => {
    let dir = '';
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads every shape line by line and sets aside the unknown one and bad JSON at their lines', async () => {
      dir = mkdtempSync(path.join(tmpdir(), 'kt-formats-'));
      const file = path.join(dir, 'mixed.log');
      const lines = [
        ...SAMPLES.map((s) => JSON.stringify(s.input)),
        JSON.stringify({ kind: 'ConfigMap', apiVersion: 'v1' }),
        '{"verb": "get", ',
        JSON.stringify({ foo: 1 }),
      ];
      writeFileSync(file, `${lines.join('\n')}\n`);
      const quarantine = createMemoryQuarantine();
      const records = [];
      for await (const b of readEvents([file], { quarantine, cluster: 'c1' })) records.push(...b);
      expect(records).toHaveLength(SAMPLES.reduce((a, s) => a + s.events, 0));
      expect(records.every((r) => r.cluster === 'c1' && r.event.verb === 'delete')).toBe(true);
      const n = SAMPLES.length;
      expect(quarantine.all.map((b) => [b.line, b.column, b.reason])).toEqual([
        [n + 1, undefined, 'kind must be "Event", not "ConfigMap" (at kind)'],
        [n + 2, 17, expect.stringMatching(/^invalid JSON: /)],
        [n + 3, undefined, 'not an audit event: it has neither verb nor requestURI (at verb)'],
      ]);
    });
  });
});
