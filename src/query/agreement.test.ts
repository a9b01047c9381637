// The DuckDB SQL back end and the JS predicate must select the same events: checked on generated events
// and generated filters, and on the real corpus, against a real DuckDB store.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { openDuckDBStore, type DuckDBStore } from '../store/duckdb/store.js';
import { eventArbitrary, NAMESPACES, RESOURCES, TEXTS, USERS, VERBS } from '../test-support/events.js';
import { compileDuckDB, compileJs, parseQuery, printQuery, printValue } from './index.js';
import type { QueryNode } from './syntax/ast.js';
import { queryTree, valueOf } from '../test-support/queries.js';

const NOW = Date.UTC(2024, 4, 1, 12);

async function selectIds(store: DuckDBStore, node: QueryNode): Promise<string[]> {
  const { sql, params } = compileDuckDB(node, NOW);
  const r = await store.connection.runAndReadAll(`SELECT audit_id FROM events WHERE ${sql}`, params as never);
  return r
    .getRows()
    .map((x) => String(x[0]))
    .sort();
}

function jsIds(records: readonly EventRecord[], node: QueryNode): string[] {
  const p = compileJs(node, NOW);
  return records
    .filter(p)
    .map((r) => r.event.auditID)
    .sort();
}

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
  valueOf(TEXTS).map((value) => ({ type: 'match' as const, field: 'annotations.a/b~c', value })),
  valueOf(['true', 'false']).map((value) => ({
    type: 'match' as const,
    field: 'requestObject.spec.containers.securityContext.privileged',
    value,
  })),
  valueOf(['nginx:1', 'busybox', 'evil/miner']).map((value) => ({
    type: 'match' as const,
    field: 'requestObject.spec.containers.image',
    value,
  })),
  valueOf(['80', '81', '82']).map((value) => ({
    type: 'match' as const,
    field: 'requestObject.spec.containers.ports.containerPort',
    value,
  })),
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
      'requestObject.spec.containers',
      'requestObject.metadata',
    )
    .map((field) => ({ type: 'exists' as const, field })),
  fc.record({
    type: fc.constant('compare' as const),
    field: fc.constant('code'),
    op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
    value: fc
      .constantFrom('200', '403', '404', '450')
      .map((t) => ({ text: t, quoted: false, wildcard: false })),
  }),
  fc
    .record({
      type: fc.constant('compare' as const),
      field: fc.constantFrom(
        'latency',
        'requestObject.spec.replicas',
        'requestObject.spec.containers.ports.containerPort',
      ),
      op: fc.constantFrom('>' as const, '<=' as const),
      value: fc
        .constantFrom('1', '2', '80', '500ms', '1s')
        .map((t) => ({ text: t, quoted: false, wildcard: false })),
    })
    .filter((n) => n.field === 'latency' || /^\d+$/.test(n.value.text)),
  fc.record({
    type: fc.constant('compare' as const),
    field: fc.constant('time'),
    op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
    value: fc
      .constantFrom('2024-05-01', '2024-05-01T06:00:00Z', 'now-1h', '2024-05-01T10:00:00.5Z')
      .map((t) => ({ text: t, quoted: false, wildcard: false })),
  }),
  fc.constantFrom('2024-05-01', '2024-04-30').map((t) => ({
    type: 'match' as const,
    field: 'time',
    value: { text: t, quoted: false, wildcard: false },
  })),
  fc.constantFrom('200', '403').map((t) => ({
    type: 'match' as const,
    field: 'code',
    value: { text: t, quoted: false, wildcard: false },
  })),
  valueOf(TEXTS).map((value) => ({ type: 'text' as const, value })),
);

const query = queryTree(leaf);

describe('DuckDB SQL and the JS predicate agree', () => {
  let store: DuckDBStore;
  let records: EventRecord[];

  beforeAll(async () => {
    store = await openDuckDBStore(':memory:');
    const events = fc.sample(eventArbitrary, { numRuns: 400, seed: 42 });
    const seen = new Set<string>();
    records = events
      .filter((e) => !seen.has(e.auditID) && seen.add(e.auditID))
      .map((event) => ({ cluster: 'c', event }));
    await store.write(records);
  });
  afterAll(() => store.close());

  it('on generated events and generated filters', async () => {
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        // Every generated tree goes through the printer and parser first: it must be a valid filter.
        const node = parseQuery(printQuery(q));
        expect(await selectIds(store, node)).toEqual(jsIds(records, node));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it.each([
    '*',
    'verb:delete resource:secrets',
    'user:system:serviceaccount:* -ns:kube-system code>=400',
    '-ns:*',
    'NOT decision:allow',
    'requestObject.spec.containers.securityContext.privileged:true',
    '-requestObject.spec.containers.securityContext.privileged:true',
    'forbidden',
    '"50%"',
    'under_score',
    'x*y',
    'latency>1s',
    'time:2024-05-01',
    'requestObject.spec.replicas>=3',
  ])('%s', async (q) => {
    const node = parseQuery(q);
    expect(await selectIds(store, node)).toEqual(jsIds(records, node));
  });

  it('binds every value: hostile values never appear in the SQL text', () => {
    for (const v of [`'); DROP TABLE events; --`, `a'b`, 'back\\slash', 'nul\u0000byte', '%_']) {
      const q = printValue({ text: v, quoted: true, wildcard: false });
      const { sql, params } = compileDuckDB(parseQuery(`user:${q} annotations.x:${q} ${q}`));
      expect(sql).not.toContain(v);
      expect(params).toContain(v);
    }
  });
});

const corpus = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../shared/corpus');

describe.skipIf(!existsSync(corpus))(
  'agreement on the real corpus (skipped without ../shared/corpus)',
  () => {
    let store: DuckDBStore;
    const records: EventRecord[] = [];

    beforeAll(async () => {
      const files = [
        ...readdirSync(path.join(corpus, 'falco-k8s-audit'))
          .filter((f) => f.endsWith('.json'))
          .map((f) => path.join(corpus, 'falco-k8s-audit', f)),
        path.join(corpus, 'audit2rbac/demo.log'),
      ];
      for (const f of files) {
        for (const line of readFileSync(f, 'utf8').split('\n')) {
          if (!line.trim()) continue;
          const e = JSON.parse(line) as AuditEvent & { timestamp?: string };
          if (typeof e !== 'object' || typeof e.auditID !== 'string') continue;
          if (!e.stageTimestamp && e.timestamp) e.stageTimestamp = e.timestamp;
          if (!e.requestReceivedTimestamp) e.requestReceivedTimestamp = e.stageTimestamp;
          records.push({ cluster: 'corpus', event: e });
        }
      }
      store = await openDuckDBStore(':memory:');
      await store.write(records);
    });
    afterAll(() => store.close());

    it.each([
      'requestObject.spec.containers.securityContext.privileged:true',
      'requestObject.spec.hostNetwork:true',
      'requestObject.spec.volumes.hostPath.path:*',
      'subresource:(exec OR attach)',
      'resource:secrets',
      'code:403',
      'impersonated:*',
      '-ns:*',
      'annotations.authorization.k8s.io/decision:allow',
      'requestObject.roleRef.name:cluster-admin',
      'requestObject.rules.verbs:"*"',
      'requestObject.data.*:*',
      'user:system:* verb:(create OR delete)',
      'forbidden',
    ])('%s', async (q) => {
      const node = parseQuery(q);
      const sql = (
        await store.connection.runAndReadAll(
          `SELECT content_hash FROM events WHERE ${compileDuckDB(node).sql}`,
          compileDuckDB(node).params as never,
        )
      ).getRows().length;
      const js = records.filter(compileJs(node)).length;
      // The store keeps identical events once; compare distinct events on both sides.
      const distinct = new Set(records.filter(compileJs(node)).map((r) => JSON.stringify(r.event))).size;
      expect(sql).toBe(distinct);
      expect(js).toBeGreaterThanOrEqual(distinct);
    });
  },
);
