// The ClickHouse dialect against a real ClickHouse server: the one escaping function is fuzzed for
// exact round trips (quotes, backslashes, NULs, control characters, unicode), and the plan (pushed-down
// SQL plus JS post-filter) selects exactly what the JS predicate selects, on generated events and filters.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../../core/event.js';
import { openClickHouseStore, type ClickHouseStore } from '../../store/clickhouse/store.js';
import { startTestClickHouse, type TestClickHouse } from '../../test-support/clickhouse.js';
import { eventArbitrary, NAMESPACES, RESOURCES, TEXTS, USERS, VERBS } from '../../test-support/events.js';
import { compileJs, parseQuery, printQuery } from '../index.js';
import type { QueryNode } from '../syntax/ast.js';
import { likePattern } from './dialect.js';
import { formatClickHousePlan, planClickHouse, sqlLiteral } from './clickhouse.js';
import { queryTree, valueOf } from '../../test-support/queries.js';

const NOW = Date.UTC(2024, 4, 1, 12);

describe('sqlLiteral', () => {
  it('quotes strings, escapes backslashes, quotes and control characters, and writes numbers exactly', () => {
    expect(sqlLiteral(`it's a \\ test\n\u0000`)).toBe(`'it\\'s a \\\\ test\\x0a\\x00'`);
    expect(sqlLiteral('ünï 😀')).toBe(`'ünï 😀'`);
    expect(sqlLiteral(42)).toBe('42');
    expect(sqlLiteral(-1.5)).toBe('(-1.5)');
    expect(sqlLiteral(-0)).toBe('0');
    expect(sqlLiteral(true)).toBe('1');
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(['a', "b'"])).toBe(`['a', 'b\\'']`);
  });

  it('refuses what it cannot write faithfully', () => {
    expect(() => sqlLiteral(Number.NaN)).toThrow(RangeError);
    expect(() => sqlLiteral(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => sqlLiteral('lone \uD800 surrogate')).toThrow(RangeError);
    expect(sqlLiteral('pair \uD83D\uDE00')).toBe(`'pair \uD83D\uDE00'`);
  });
});

const hostile = fc.constantFrom(
  "'",
  '\\',
  '\u0000',
  '"',
  '`',
  '\n',
  '\r',
  '\t',
  '\u001b',
  '\u007f',
  '\u0085',
  '\u2028',
  '\uFEFF',
  'é',
  '😀',
  '%',
  '_',
  '?',
  '{',
  ';',
  '--',
  '/*',
  '*/',
  '\\x41',
  "\\'",
  ' OR 1=1',
  'FORMAT TSV',
);
/** Random strings biased towards what breaks SQL escaping, and arbitrary unicode. */
const nastyString = fc
  .oneof(
    fc.array(fc.oneof(hostile, fc.string({ maxLength: 3 })), { maxLength: 12 }).map((a) => a.join('')),
    fc.string({ unit: 'binary', maxLength: 30 }),
    fc.string({ unit: 'grapheme', maxLength: 30 }),
  )
  .filter((s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s));

describe('the ClickHouse dialect against a real server', () => {
  let ch: TestClickHouse;
  let store: ClickHouseStore;
  let records: EventRecord[];

  beforeAll(async () => {
    ch = await startTestClickHouse();
    store = await openClickHouseStore(ch.location('kt_dialect'), { scanBatch: 97 });
    const events = fc.sample(eventArbitrary, { numRuns: 400, seed: 42 });
    const seen = new Set<string>();
    records = events
      .filter((e) => !seen.has(e.auditID) && seen.add(e.auditID))
      .map((event, i) => ({ cluster: i % 3 ? 'c' : "o'brien\\", event }));
    await store.write(records);
  });
  afterAll(async () => {
    await store?.close();
    await ch?.stop();
  });

  it('round-trips any string exactly through SELECT (no injection)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(nastyString, { minLength: 1, maxLength: 25 }), async (values) => {
        const cols = values.map((v, i) => `${sqlLiteral(v)} AS c${i}`).join(', ');
        const [row] = await store.select<Record<string, string>>(`SELECT ${cols}`);
        expect(values.map((_, i) => row![`c${i}`])).toEqual(values);
        const [arr] = await store.select<{ a: string[] }>(`SELECT ${sqlLiteral(values)} AS a`);
        expect(arr!.a).toEqual(values);
      }),
      { numRuns: 150, seed: 11 },
    );
  });

  it('round-trips numbers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.maxSafeInteger(), fc.integer()),
          { minLength: 1, maxLength: 20 },
        ),
        async (values) => {
          const cols = values.map((v, i) => `toFloat64(${sqlLiteral(v)}) AS c${i}`).join(', ');
          const [row] = await store.select<Record<string, number | string>>(`SELECT ${cols}`);
          values.forEach((v, i) => expect(Number(row![`c${i}`]) === v, `${v}`).toBe(true));
        },
      ),
      { numRuns: 60, seed: 12 },
    );
  });

  it('matches LIKE patterns literally: % _ \\ in values are not wildcards', async () => {
    await fc.assert(
      fc.asyncProperty(nastyString, nastyString, async (a, b) => {
        const [row] = await store.select<Record<string, number | string>>(
          `SELECT ${sqlLiteral(a + b)} LIKE ${sqlLiteral(likePattern([a, b]))} AS hit, ` +
            `${sqlLiteral(`${a}x${b}`)} LIKE ${sqlLiteral(likePattern([`${a}_${b}`]))} AS miss, ` +
            `${sqlLiteral(`${a}-${b}`)} LIKE ${sqlLiteral(likePattern([a, b]))} AS wild`,
        );
        expect([Number(row!.hit), Number(row!.miss), Number(row!.wild)]).toEqual([1, 0, 1]);
      }),
      { numRuns: 100, seed: 13 },
    );
  });

  const match = (field: string, vocab: readonly string[]) =>
    valueOf(vocab).map((value): QueryNode => ({ type: 'match', field, value }));
  const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
    match('user', USERS),
    match('verb', VERBS),
    match('ns', NAMESPACES),
    match('resource', RESOURCES),
    match('group', ['devs', 'system:masters', 'a_b']),
    match('ip', ['10.0.0.1', '203.0.113.7', '::1']),
    match('decision', ['allow', 'forbid']),
    match('cluster', ['c', "o'brien\\"]),
    match('annotations.a/b~c', TEXTS),
    match('requestObject.spec.containers.securityContext.privileged', ['true', 'false']),
    match('requestObject.spec.containers.image', ['nginx:1', 'busybox', 'evil/miner']),
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
      )
      .map((field): QueryNode => ({ type: 'exists', field })),
    fc.record({
      type: fc.constant('compare' as const),
      field: fc.constantFrom('code', 'latency', 'requestObject.spec.replicas'),
      op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
      value: fc
        .constantFrom('1', '200', '403', '450')
        .map((t) => ({ text: t, quoted: false, wildcard: false })),
    }),
    fc.record({
      type: fc.constant('compare' as const),
      field: fc.constant('time'),
      op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
      value: fc
        .constantFrom('2024-05-01', '2024-05-01T06:00:00Z', 'now-1h', '2024-05-01T10:00:00.5Z')
        .map((t) => ({ text: t, quoted: false, wildcard: false })),
    }),
    fc.constantFrom('200', '403').map((t): QueryNode => ({
      type: 'match',
      field: 'code',
      value: { text: t, quoted: false, wildcard: false },
    })),
    valueOf(TEXTS).map((value): QueryNode => ({ type: 'text', value })),
  );
  const query = queryTree(leaf);

  const jsIds = (node: QueryNode) =>
    records
      .filter(compileJs(node, NOW))
      .map((r) => r.event.auditID)
      .sort();
  const sqlIds = async (node: QueryNode) => {
    const plan = planClickHouse(node, NOW);
    const rows = await store.select<{ event: string; cluster: string }>(
      `SELECT cluster, event FROM ${store.location.database}.events WHERE ${plan.sql}`,
    );
    const post = plan.postFilter ? compileJs(node, NOW) : () => true;
    return rows
      .map((r) => ({ cluster: r.cluster, event: JSON.parse(r.event) as EventRecord['event'] }))
      .filter(post)
      .map((r) => r.event.auditID)
      .sort();
  };

  it('selects what the JS predicate selects, on generated events and generated filters', async () => {
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const node = parseQuery(printQuery(q));
        expect(await sqlIds(node)).toEqual(jsIds(node));
      }),
      { numRuns: 250, seed: 7 },
    );
  });

  it.each([
    '*',
    'verb:delete resource:secrets',
    'user:system:serviceaccount:* -ns:kube-system code>=400',
    '-ns:*',
    'NOT decision:allow',
    'user:""',
    'requestObject.spec.containers.securityContext.privileged:true',
    '-requestObject.spec.containers.securityContext.privileged:true',
    'forbidden',
    'ünïcode',
    '"50%"',
    'under_score',
    'x*y',
    'a\\\\b',
    'latency>1s',
    'time:2024-05-01',
    'requestObject.spec.replicas>=3',
  ])('%s', async (q) => {
    const node = parseQuery(q);
    expect(await sqlIds(node)).toEqual(jsIds(node));
  });

  it('pushes down what the server can evaluate and says what is post-filtered', () => {
    const p = planClickHouse(
      parseQuery('verb:create requestObject.spec.hostNetwork:true user:"o\'brien"'),
      NOW,
    );
    expect(p.pushed).toBe(`verb:create user:"o'brien"`);
    expect(p.sql).toContain(`verb = 'create'`);
    expect(p.sql).toContain(`username = 'o\\'brien'`);
    expect(p.values).toEqual(['create', "o'brien", '"hostNetwork":', 'true']);
    expect(p.sql).toContain(`position(event, '"hostNetwork":') > 0 AND position(event, 'true') > 0`);
    expect(p.postFilter?.terms).toEqual(['requestObject.spec.hostNetwork:true']);
    expect(p.postFilter?.narrowed).toEqual(['requestObject.spec.hostNetwork:true']);
    const text = formatClickHousePlan(p);
    expect(text).toMatch(/post-filtered in JS: requestObject\.spec\.hostNetwork:true/);
    expect(text).toMatch(/narrowed in SQL by a substring search/);
    const full = planClickHouse(parseQuery('verb:get OR code>=400'), NOW);
    expect(full.postFilter).toBeUndefined();
    expect(formatClickHousePlan(full)).toMatch(/post-filtered in JS: nothing/);
    const mixed = planClickHouse(parseQuery(`verb:get OR annotations.x:"y'z"`), NOW);
    expect(mixed.sql).toBe(`(ifNull(verb = 'get', 0) OR position(annotations, '"x":"y\\'z"') > 0)`);
    expect(mixed.postFilter?.terms).toHaveLength(1);
    const negated = planClickHouse(parseQuery('-requestObject.spec.hostNetwork:true'), NOW);
    expect(negated.sql).toBe('1');
    expect(negated.postFilter?.narrowed).toEqual([]);
  });
});
