import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeEvent, rec } from '../test-support/events.js';
import type { AuditEvent } from '../core/event.js';
import { FIELDS } from '../fields/catalog.js';
import { EVENT_COLUMNS, contentHash, toRow, type EventRow } from './columns.js';

/** The content hash as every earlier kubetrail computed it; stored hashes must keep matching it. */
const legacy = (cluster: string, json: string) =>
  createHash('sha1').update(cluster).update('\0').update(json).digest('hex').slice(0, 32);

describe('content hash', () => {
  it('is pinned: the same value stores written before hold (SHA-1 of UTF-8 cluster, NUL, event JSON)', () => {
    // Computed outside Node: printf 'prod\0{"a":1}' | sha1sum
    expect(contentHash('prod', '{"a":1}')).toBe('a220f2a4d0698e111949e8010d6c4ff5');
    // A lone surrogate in the cluster name is hashed as U+FFFD (EF BF BD), as Hash.update did.
    expect(contentHash('c\ud800', '{"u":"\\ud800 é"}')).toBe('ad42e5e74edc79c30830a302db345019');
  });

  it('equals the earlier computation for generated events, non-ASCII, NUL and surrogates', () => {
    const samples = [
      JSON.stringify(makeEvent()),
      JSON.stringify(makeEvent({ userAgent: 'kubectl \u0000 \u202e é 日本 😀 \ud800' })),
      '',
      'x'.repeat(100_000),
    ];
    for (const cluster of ['', 'prod', 'ünïcode', 'a\u0000b', '\udfff']) {
      for (const json of samples) expect(contentHash(cluster, json)).toBe(legacy(cluster, json));
    }
  });
});

describe('toRow', () => {
  it('keeps a response code in the 32-bit range and leaves others out of the code column', () => {
    const code = (c: unknown) => toRow(rec(makeEvent({ responseStatus: { code: c as number } }))).code;
    expect(code(403)).toBe(403);
    expect(code(200.9)).toBe(200);
    expect(code(-2147483648)).toBe(-2147483648);
    expect(code(2147483647)).toBe(2147483647);
    expect(code(2147483648)).toBeNull();
    expect(code(1e12)).toBeNull();
    expect(code(-1e300)).toBeNull();
    expect(code(Number.NaN)).toBeNull();
    expect(code('500')).toBeNull();
  });

  it('hashes the event JSON it stores', () => {
    const r = toRow(rec(makeEvent()));
    expect(r.content_hash).toBe(legacy(r.cluster, r.event));
  });
});

describe('stored columns', () => {
  it('keep the table order and types of the stores written before (a new column goes last)', () => {
    expect(EVENT_COLUMNS.map(([name, type]) => `${name} ${type}`)).toEqual([
      'cluster varchar',
      'audit_id varchar',
      'stage varchar',
      'content_hash varchar',
      'ts timestamp',
      'received_ts timestamp',
      'latency_ms double',
      'level varchar',
      'verb varchar',
      'username varchar',
      'user_groups varchar[]',
      'impersonated_user varchar',
      'source_ips varchar[]',
      'user_agent varchar',
      'namespace varchar',
      'resource varchar',
      'subresource varchar',
      'name varchar',
      'api_group varchar',
      'api_version varchar',
      'code integer',
      'reason varchar',
      'message varchar',
      'request_uri varchar',
      'decision varchar',
      'annotations json',
      'event json',
    ]);
  });

  it("are the catalog's: every field with a column has one, of the type it declares", () => {
    const stored = FIELDS.filter((f) => f.store !== undefined);
    for (const f of stored) expect(EVENT_COLUMNS, f.name).toContainEqual([f.column, f.store!.type]);
    expect(EVENT_COLUMNS.length).toBe(stored.length + 3);
  });

  it("hold each field's value as the field reads it", () => {
    const record = rec(
      makeEvent({
        impersonatedUser: { username: 'bob' },
        objectRef: {
          resource: 'secrets',
          subresource: 'status',
          namespace: 'ns',
          name: 'n',
          apiGroup: 'g',
          apiVersion: 'v1',
        },
        responseStatus: { code: 403, reason: 'Forbidden', message: 'no' },
      }),
    );
    const row = toRow(record) as unknown as Record<string, unknown>;
    for (const f of FIELDS) {
      if (!f.store) continue;
      const v = f.get(record);
      expect(v, f.name).toBeDefined();
      expect(row[f.column], f.name).toEqual(v);
    }
    expect(row.annotations).toBe(JSON.stringify(record.event.annotations));
    expect(row.event).toBe(JSON.stringify(record.event));
  });

  it("store an absent value as null, or as '' and 0 in the columns that may not be null", () => {
    const event = { kind: 'Event', apiVersion: 'audit.k8s.io/v1' } as unknown as AuditEvent;
    const row = toRow({ cluster: 'c', event });
    expect(row).toMatchObject({ cluster: 'c', audit_id: '', stage: '', level: '', verb: '', ts: 0 });
    expect(row.user_groups).toEqual([]);
    expect(row.source_ips).toEqual([]);
    for (const c of ['received_ts', 'latency_ms', 'username', 'namespace', 'code', 'decision', 'annotations'])
      expect(row[c as keyof EventRow], c).toBeNull();
  });

  it('keeps only the strings of a list', () => {
    const e = makeEvent({ user: { username: 'u', groups: ['a', 5 as never, 'b'] }, sourceIPs: 'x' as never });
    const row = toRow(rec(e));
    expect(row.user_groups).toEqual(['a', 'b']);
    expect(row.source_ips).toEqual([]);
  });

  it('gives rows that do not share their lists', () => {
    const a = toRow(rec(makeEvent({ sourceIPs: undefined as never })));
    const b = toRow(rec(makeEvent({ sourceIPs: undefined as never })));
    a.source_ips.push('x');
    expect(b.source_ips).toEqual([]);
  });
});
