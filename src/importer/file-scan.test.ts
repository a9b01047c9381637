// The DuckDB file query and the JavaScript one (reader → redaction → filter) return the same events in
// the same order and the same count: on generated events and generated filters, and for gzip files,
// directories of rotated logs, bad lines, EventLists, older API versions and managed-cluster shapes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { createMemoryQuarantine, readEvents } from '../ingest/index.js';
import { parseQuery, printQuery } from '../query/index.js';
import type { QueryNode } from '../query/syntax/ast.js';
import { redactBatches } from '../redact/index.js';
import {
  eventArbitrary,
  makeEvent,
  NAMESPACES,
  RESOURCES,
  TEXTS,
  USERS,
  VERBS,
} from '../test-support/events.js';
import { queryTree, valueOf } from '../test-support/queries.js';
import { queryBatches, type FileQueryOptions } from './file-query.js';
import { queryFiles } from './file-scan.js';

const NOW = Date.UTC(2024, 4, 1, 12);
const dir = mkdtempSync(path.join(tmpdir(), 'kt-file-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileNo = 0;
function file(text: string | Buffer, name = `f${++fileNo}.jsonl`): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function both(inputs: string[], opts: Omit<FileQueryOptions, 'now'>) {
  const qa = createMemoryQuarantine();
  const qb = createMemoryQuarantine();
  const js = await queryBatches(redactBatches(readEvents(inputs, { cluster: 'c', quarantine: qa })), {
    ...opts,
    now: NOW,
  });
  const routes: Record<string, string> = {};
  const sql = await queryFiles(inputs, {
    ...opts,
    now: NOW,
    cluster: 'c',
    quarantine: qb,
    onFile: (f, route) => (routes[path.basename(f)] = route),
  });
  return { js, sql, qa, qb, routes };
}

async function expectSame(inputs: string[], opts: Omit<FileQueryOptions, 'now'>) {
  const { js, sql, qa, qb, routes } = await both(inputs, opts);
  expect(sql.matched).toBe(js.matched);
  expect(JSON.stringify(sql.records)).toBe(JSON.stringify(js.records));
  expect(qb.count).toBe(qa.count);
  expect(JSON.stringify(qb.samples)).toBe(JSON.stringify(qa.samples));
  return { js, sql, routes };
}

const lit = (text: string) => ({ text, quoted: true, wildcard: false });
const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
  valueOf(USERS).map((value) => ({ type: 'match' as const, field: 'user', value })),
  valueOf(VERBS).map((value) => ({ type: 'match' as const, field: 'verb', value })),
  valueOf(NAMESPACES).map((value) => ({ type: 'match' as const, field: 'ns', value })),
  valueOf(RESOURCES).map((value) => ({ type: 'match' as const, field: 'resource', value })),
  valueOf(['devs', 'system:masters', 'a_b']).map((value) => ({
    type: 'match' as const,
    field: 'group',
    value,
  })),
  valueOf(['10.0.0.1', '203.0.113.7', '::1']).map((value) => ({
    type: 'match' as const,
    field: 'ip',
    value,
  })),
  valueOf(['allow', 'forbid']).map((value) => ({ type: 'match' as const, field: 'decision', value })),
  valueOf(TEXTS).map((value) => ({ type: 'match' as const, field: 'msg', value })),
  valueOf(['kubectl/v1.30.0', ...TEXTS]).map((value) => ({ type: 'match' as const, field: 'ua', value })),
  valueOf(['/api/v1/pods', '/api/v1/secrets?token=x']).map((value) => ({
    type: 'match' as const,
    field: 'uri',
    value,
  })),
  valueOf(['web-1', 'db', 'x*y']).map((value) => ({ type: 'match' as const, field: 'name', value })),
  valueOf(['nginx:1', 'evil/miner']).map((value) => ({
    type: 'match' as const,
    field: 'requestObject.spec.containers.image',
    value,
  })),
  valueOf(['2', '20', '40']).map((value) => ({ type: 'match' as const, field: 'code', value })),
  fc
    .constantFrom(
      'ns',
      'group',
      'ip',
      'ua',
      'impersonated',
      'code',
      'annotations.a/b~c',
      'requestObject.spec.replicas',
      'annotations.kubetrail.io/redacted',
    )
    .map((field) => ({ type: 'exists' as const, field })),
  fc
    .record({
      type: fc.constant('compare' as const),
      field: fc.constantFrom('code', 'latency', 'requestObject.spec.replicas'),
      op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
      value: fc.constantFrom('200', '403', '2', '500ms').map(lit),
    })
    .filter((n) => n.field === 'latency' || /^\d+$/.test(n.value.text)),
  fc.record({
    type: fc.constant('compare' as const),
    field: fc.constantFrom('time', 'received'),
    op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
    value: fc.constantFrom('2024-05-01', '2024-05-01T06:00:00Z', 'now-3h', '2024-05-01T10:00:00.5Z').map(lit),
  }),
  valueOf([...TEXTS, 'secrets', 'Forbidden', 'hunter2']).map((value) => ({ type: 'text' as const, value })),
);

/** Generated events, a few with secrets the redactor removes, some sharing a time (ties keep input order). */
function corpus(seed: number): AuditEvent[] {
  const events = fc.sample(eventArbitrary, { numRuns: 300, seed });
  events.slice(0, 20).forEach((e, i) => {
    if (i % 4 === 0) e.requestURI = `/api/v1/secrets?token=hunter2${i}`;
    if (i % 4 === 1) e.userAgent = `curl Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln`;
    if (i % 4 === 2) {
      e.objectRef = { resource: 'secrets', namespace: 'default', name: 'db', apiVersion: 'v1' };
      e.requestObject = { kind: 'Secret', data: { password: 'aHVudGVyMg==' } };
    }
    if (i % 4 === 3) e.stageTimestamp = events[0]!.stageTimestamp;
  });
  return events;
}
const lines = (events: readonly unknown[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';

describe('query --file through DuckDB agrees with the JavaScript path', () => {
  const plain = file(lines(corpus(1)));
  // Mixed shapes: v1beta1 events, an EventList on one line, an EKS record, blank lines and CRLF.
  const mixedEvents = corpus(2);
  const mixed = file(
    [
      ...mixedEvents.slice(0, 100).map((e) => JSON.stringify(e)),
      '',
      JSON.stringify({ ...mixedEvents[100], apiVersion: 'audit.k8s.io/v1beta1' }),
      JSON.stringify({
        kind: 'EventList',
        apiVersion: 'audit.k8s.io/v1',
        items: mixedEvents.slice(101, 110),
      }),
      JSON.stringify({ message: JSON.stringify(mixedEvents[110]), timestamp: 1 }),
      `${JSON.stringify(mixedEvents[111])}\r`,
      JSON.stringify({ ...mixedEvents[112], verb: 'get', extra: { verb: 'x' } }),
      ...mixedEvents.slice(113).map((e) => JSON.stringify(e)),
    ].join('\n'),
  );

  it('on generated events and generated filters', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryTree(leaf),
        fc.constantFrom(3, 1000),
        fc.constantFrom('asc' as const, 'desc' as const),
        fc.boolean(),
        async (q, limit, order, ranged) => {
          const filter = parseQuery(printQuery(q));
          const range = ranged
            ? { since: Date.UTC(2024, 4, 1, 3) * 1000, until: Date.UTC(2024, 4, 1, 15) * 1000 }
            : {};
          const { routes } = await expectSame([plain, mixed], { filter, limit, order, ...range });
          expect(routes).toEqual({ [path.basename(plain)]: 'duckdb', [path.basename(mixed)]: 'duckdb' });
        },
      ),
      { numRuns: 60, seed: 11 },
    );
  }, 120_000);

  it.each([
    '*',
    'verb:delete resource:secrets',
    'hunter2',
    '-uri:*hunter2*',
    'NOT ua:*Bearer*',
    'annotations.kubetrail.io/redacted:*',
    'requestObject.data.password:*',
    'user:system:serviceaccount:* -ns:kube-system code>=400',
  ])('%s (secrets stay redacted, in the output and in what the filter sees)', async (q) => {
    const { sql } = await expectSame([plain, mixed], { filter: parseQuery(q), limit: 1000 });
    expect(JSON.stringify(sql.records)).not.toContain('hunter2');
    expect(JSON.stringify(sql.records)).not.toContain('aHVudGVyMg==');
  });

  it('reads gzip files (by content, whatever the name) and directories of rotated logs', async () => {
    const events = corpus(3);
    const d = path.join(dir, 'logs');
    rmSync(d, { recursive: true, force: true });
    file('', 'x');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(d);
    writeFileSync(
      path.join(d, 'audit-2024-05-01T10-00-00.000.log.gz'),
      gzipSync(lines(events.slice(0, 100))),
    );
    writeFileSync(path.join(d, 'audit.log'), lines(events.slice(100)));
    const gz = file(gzipSync(lines(events)), 'nogzname.log');
    for (const q of ['*', 'verb:(get OR delete)', 'code>=400']) {
      await expectSame([d], { filter: parseQuery(q), limit: 50 });
      const { routes } = await expectSame([gz, d], { filter: parseQuery(q), limit: 1000, order: 'asc' });
      expect(Object.values(routes)).toEqual(['duckdb', 'duckdb', 'duckdb']);
    }
  });

  it('quarantines bad lines with their file and line exactly as the reader does', async () => {
    const events = corpus(4);
    const bad = file(
      [
        ...events.slice(0, 50).map((e) => JSON.stringify(e)),
        '{"verb": "get", not json',
        '{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get",}',
        JSON.stringify({ hello: 'world' }),
        JSON.stringify({ ...events[50], sourceIPs: null }),
        '{"a":"\\ud800"}',
        ...events.slice(51).map((e) => JSON.stringify(e)),
      ].join('\n'),
    );
    const notAnEvent = file(lines([...events.slice(0, 10), { hello: 1 }, ...events.slice(10, 20)]));
    const trailingComma = file(
      `${lines(events.slice(0, 10))}{"kind":"Event","apiVersion":"audit.k8s.io/v1",}\n`,
    );
    for (const q of ['*', 'verb:get', 'code>=400']) {
      const { js, routes } = await expectSame([plain, bad, notAnEvent, trailingComma], {
        filter: parseQuery(q),
        limit: 40,
      });
      expect(js.matched).toBeGreaterThan(0);
      expect(routes).toEqual({
        [path.basename(plain)]: 'duckdb',
        [path.basename(bad)]: 'reader',
        [path.basename(notAnEvent)]: 'reader',
        [path.basename(trailingComma)]: 'reader',
      });
    }
  });

  it('reads EventList documents spread over lines and duplicate keys as JSON.parse does', async () => {
    const events = corpus(5);
    const doc = file(
      JSON.stringify(
        { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: events.slice(0, 30) },
        null,
        2,
      ),
    );
    const e = makeEvent({ verb: 'get' });
    const dup = file(
      `${JSON.stringify(e).replace('"verb":"get"', '"verb":"get","verb":"delete"')}\n${lines(events.slice(30, 60))}`,
    );
    const dupNested = file(
      `${JSON.stringify(e).replace('"resource":"pods"', '"resource":"pods","resource":"secrets"')}\n`,
    );
    for (const q of ['*', 'verb:delete', 'resource:secrets', '-verb:get']) {
      await expectSame([doc, dup, dupNested], { filter: parseQuery(q), limit: 100 });
    }
  });
});
