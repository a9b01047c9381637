import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord, UserInfo } from '../core/event.js';
import { normalizeEvent } from '../ingest/index.js';
import { compileDuckDB, compileJs, parseQuery } from '../query/index.js';
import { openClickHouseStore } from '../store/clickhouse/store.js';
import { openDuckDBStore, type DuckDBStore } from '../store/duckdb/store.js';
import { runCli } from '../test-support/cli.js';
import { startTestClickHouse, type TestClickHouse } from '../test-support/clickhouse.js';
import { compileRuleSet } from '../detect/compile.js';
import { DetectionEngine } from '../detect/engine.js';
import { mergeRuleFiles, parseRuleFile, type Problem } from '../detect/load.js';
import { available, CORPUS } from '../test-support/requirements.js';
import { actorDuckDbSql, actorOf, resolveActor } from './actor.js';
import { fieldValues } from './values.js';

let seq = 0;
function event(user: UserInfo | undefined, impersonatedUser?: UserInfo): AuditEvent {
  seq++;
  return {
    level: 'Metadata',
    auditID: `a-${seq}`,
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/default/pods',
    verb: 'list',
    user: user as UserInfo,
    ...(impersonatedUser ? { impersonatedUser } : {}),
    requestReceivedTimestamp: '2024-05-01T10:00:00.000000Z',
    stageTimestamp: '2024-05-01T10:00:00.000000Z',
  };
}

/** Proxy and token shapes, as the API server records them (extra keys lower-cased). */
const GENERATED: [string, AuditEvent, string, string][] = [
  ['a plain user', event({ username: 'alice@example.com' }), 'alice@example.com', 'user'],
  [
    'kubectl --as: the impersonated user, the real one kept in user',
    event({ username: 'alice' }, { username: 'bob', groups: ['devs'] }),
    'bob',
    'impersonation',
  ],
  [
    'kube-oidc-proxy impersonating the OIDC user',
    event(
      { username: 'system:serviceaccount:kube-oidc-proxy:kube-oidc-proxy' },
      { username: 'oidc:carol', extra: { 'remote-client-ip': ['198.51.100.4'] } },
    ),
    'oidc:carol',
    'impersonation',
  ],
  [
    'kube-oidc-proxy relaying a user who asked to impersonate (originaluser.jetstack.io-user)',
    event(
      { username: 'system:serviceaccount:kube-oidc-proxy:kube-oidc-proxy' },
      {
        username: 'someuser',
        extra: {
          'originaluser.jetstack.io-user': ['mmosley'],
          'originaluser.jetstack.io-groups': ['admins'],
        },
      },
    ),
    'mmosley',
    'kube-oidc-proxy',
  ],
  [
    'Pinniped impersonation proxy with nested impersonation (original-user-info JSON)',
    event(
      { username: 'system:serviceaccount:pinniped-concierge:pinniped-concierge-impersonation-proxy' },
      {
        username: 'system:serviceaccount:kube-system:generic-garbage-collector',
        extra: {
          'original-user-info.impersonation-proxy.concierge.pinniped.dev': [
            '{"username":"test-admin","groups":["system:masters"]}',
          ],
        },
      },
    ),
    'test-admin',
    'pinniped',
  ],
  [
    'Pinniped original user info that is not JSON falls back to the impersonated user',
    event(
      { username: 'system:serviceaccount:pinniped-concierge:proxy' },
      {
        username: 'dave',
        extra: { 'original-user-info.impersonation-proxy.concierge.pinniped.dev': ['{not json'] },
      },
    ),
    'dave',
    'impersonation',
  ],
  [
    'Rancher impersonating its user id with username and principalid extras',
    event(
      { username: 'system:serviceaccount:cattle-impersonation-system:cattle-impersonation-user-6j5s6' },
      {
        username: 'user-6j5s6',
        groups: ['system:authenticated', 'system:cattle:authenticated'],
        extra: {
          principalid: ['local://user-6j5s6'],
          username: ['admin'],
          requesthost: ['rancher.example.com'],
          requesttokenid: ['token-zs42h'],
        },
      },
    ),
    'admin',
    'rancher',
  ],
  [
    'a Rancher-like username extra without a principal is not taken',
    event({ username: 'eve' }, { username: 'frank', extra: { username: ['mallory'] } }),
    'frank',
    'impersonation',
  ],
  [
    'a service account token bound to a pod',
    event({
      username: 'system:serviceaccount:ops:deployer',
      extra: {
        'authentication.kubernetes.io/pod-name': ['ci-runner-7d9f'],
        'authentication.kubernetes.io/pod-uid': ['0b4c'],
        'authentication.kubernetes.io/node-name': ['node-a'],
        'authentication.kubernetes.io/credential-id': ['JTI=7a1c'],
      },
    }),
    'pod:ops/ci-runner-7d9f (sa deployer)',
    'pod-token',
  ],
  [
    'a service account without a pod',
    event({ username: 'system:serviceaccount:ops:deployer' }),
    'sa:ops/deployer',
    'serviceaccount',
  ],
  [
    'a malformed service account name stays as is',
    event({ username: 'system:serviceaccount:ops' }),
    'system:serviceaccount:ops',
    'user',
  ],
  ['a node', event({ username: 'system:node:node-a', groups: ['system:nodes'] }), 'node:node-a', 'node'],
  [
    'impersonating a service account resolves it',
    event({ username: 'system:admin' }, { username: 'system:serviceaccount:ns1:sa1' }),
    'sa:ns1/sa1',
    'serviceaccount',
  ],
  [
    'an EKS IAM session behind a shared mapped username',
    event({
      username: 'kubernetes-admin',
      extra: {
        arn: ['arn:aws:sts::111122223333:assumed-role/Admin/alice'],
        canonicalArn: ['arn:aws:iam::111122223333:role/Admin'],
        sessionName: ['alice'],
      },
    }),
    'arn:aws:sts::111122223333:assumed-role/Admin/alice',
    'eks-iam',
  ],
  [
    'an EKS node keeps its node identity, not its instance role',
    event({ username: 'system:node:ip-10-0-0-1', extra: { arn: ['arn:aws:sts::1:assumed-role/Node/i-1'] } }),
    'node:ip-10-0-0-1',
    'node',
  ],
  [
    'hostile extras (not lists, not strings) are ignored',
    event({ username: 'gus', extra: { arn: 'x', username: [5] } as never }),
    'gus',
    'user',
  ],
];

describe('actor resolution on generated proxy and token cases', () => {
  it.each(GENERATED)('%s', (_name, e, actor, source) => {
    expect(resolveActor(e)).toMatchObject({ actor, source });
  });

  it('keeps the authenticated and impersonated users, the credential and the node', () => {
    expect(resolveActor(GENERATED[8]![1])).toMatchObject({
      authenticated: 'system:serviceaccount:ops:deployer',
      credential: 'JTI=7a1c',
      node: 'node-a',
    });
    expect(resolveActor(GENERATED[1]![1])).toMatchObject({ authenticated: 'alice', impersonated: 'bob' });
    expect(resolveActor(event(undefined))).toBeUndefined();
  });

  it('is a catalog field that filters and matches wildcards', () => {
    const r: EventRecord = { cluster: 'c', event: GENERATED[8]![1] };
    expect(fieldValues(r, 'actor')).toEqual(['pod:ops/ci-runner-7d9f (sa deployer)']);
    expect(compileJs(parseQuery('actor:pod:ops/ci-runner-*'))(r)).toBe(true);
    expect(compileJs(parseQuery('actor:"sa:ops/deployer"'))(r)).toBe(false);
  });
});

const corpus = CORPUS.path;

describe.skipIf(!available(CORPUS))('actor on the real corpus (skipped without ../shared/corpus)', () => {
  const lines = (file: string) =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.trim())
      : [];

  it('audit2rbac: system:admin impersonating bob, alice and a service account', () => {
    const actors = new Map<string, number>();
    for (const l of lines(path.join(corpus, 'audit2rbac/demo.log'))) {
      const e = JSON.parse(l) as AuditEvent;
      expect(e.user.username).toBe('system:admin');
      const a = actorOf(e)!;
      actors.set(a, (actors.get(a) ?? 0) + 1);
    }
    expect(Object.fromEntries(actors)).toEqual({ bob: 29, alice: 3, 'sa:ns1/sa1': 5 });
  });

  it('Panther EKS and GKE events: managed identities, nodes, pods and service accounts', () => {
    const byUser = new Map<string, string>();
    const files = ['panther-k8s/tests.jsonl', 'panther-k8s/tests-eks-legacy-and-azure-activity.jsonl'];
    for (const f of files) {
      for (const l of lines(path.join(corpus, f))) {
        const t = JSON.parse(l) as { log_type: string; log: unknown };
        if (t.log_type !== 'Amazon.EKS.Audit' && t.log_type !== 'GCP.AuditLog') continue;
        const n = normalizeEvent(t.log, { defaultTime: '2024-01-01T00:00:00Z' });
        if (!('event' in n)) continue;
        const a = actorOf(n.event);
        if (a && n.event.user?.username)
          byUser.set(`${n.event.user.username}|${JSON.stringify(n.event.user.extra ?? {})}`, a);
      }
    }
    const find = (prefix: string) =>
      [...byUser.entries()].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v);
    expect(find('system:node:ip-192-168-3-178.us-west-2.compute.internal|')).toEqual([
      'node:ip-192-168-3-178.us-west-2.compute.internal',
    ]);
    expect(find('eks:addon-manager|')).toContain(
      'arn:aws:sts::123412341234:assumed-role/AWSWesleyClusterManagerLambda-Add-AddonManagerRole/session',
    );
    expect(find('system:serviceaccount:kube-system:coredns|')).toContain('sa:kube-system/coredns');
    // Panther flattens extra keys in its EKS records (authentication_kubernetes_io_slash_pod-name).
    expect(find('system:serviceaccount:kube-system:coredns|')).toContain(
      'pod:kube-system/coredns-57ff979f67-bl27n (sa coredns)',
    );
    expect(find('kubernetes-admin|').sort()).toEqual([
      'arn:aws:sts::123412341234:assumed-role/DevAdministrator/1669660343296132000',
      'kubernetes-admin',
    ]);
    expect(find('admin@example.com|')).toEqual(['admin@example.com']);
    expect(find('container-engine-robot@some-project.iam.gserviceaccount.com|')).toEqual([
      'container-engine-robot@some-project.iam.gserviceaccount.com',
    ]);
  });
});

// ------------------------------------------------------------------------- the SQL and JS agree

const extraKeys = [
  'authentication.kubernetes.io/pod-name',
  'authentication_kubernetes_io_slash_pod-name',
  'originaluser.jetstack.io-user',
  'original-user-info.impersonation-proxy.concierge.pinniped.dev',
  'username',
  'principalid',
  'arn',
  "it's~/odd",
];
const names = [
  'alice',
  'system:serviceaccount:ns:sa',
  'system:serviceaccount:ns',
  'system:serviceaccount::x',
  'system:serviceaccount:ns:',
  'system:node:n1',
  'system:node:',
  'bob\'s "name"',
  'ünï:cødé',
  '',
];
const extraValue = fc.oneof(
  fc.constantFrom(...names, '{"username":"pin"}', '{"username":5}', '[1]', '{bad', '{"username":""}'),
  fc.constant(''),
);
const extraArb = fc.dictionary(
  fc.constantFrom(...extraKeys),
  fc.oneof(
    { weight: 5, arbitrary: fc.array(extraValue, { minLength: 1, maxLength: 2 }) },
    { weight: 1, arbitrary: fc.oneof(fc.constant('x'), fc.constant([3]), fc.constant({ 0: 'y' })) },
  ),
);
const userArb = fc.option(
  fc.record({ username: fc.constantFrom(...names), extra: extraArb }, { requiredKeys: ['username'] }),
  { nil: undefined },
) as fc.Arbitrary<UserInfo | undefined>;

describe('the DuckDB expression and the JS resolution agree', () => {
  let store: DuckDBStore;
  const records: EventRecord[] = [];

  beforeAll(async () => {
    const events = fc.sample(fc.tuple(userArb, userArb), { numRuns: 600, seed: 18 });
    for (const [u, iu] of events) records.push({ cluster: 'c', event: event(u ?? {}, iu) });
    for (const [, e] of GENERATED) records.push({ cluster: 'c', event: e });
    store = await openDuckDBStore(':memory:');
    await store.write(records);
  });
  afterAll(() => store.close());

  it('on every generated event', async () => {
    const rows = (
      await store.connection.runAndReadAll(
        `SELECT audit_id, ${actorDuckDbSql()} FROM events ORDER BY audit_id`,
      )
    ).getRows();
    const sql = new Map(rows.map((r) => [String(r[0]), r[1] === null ? undefined : String(r[1])]));
    const mismatches = records
      .map((r) => ({ id: r.event.auditID, js: actorOf(r.event), sql: sql.get(r.event.auditID), e: r.event }))
      .filter((m) => m.js !== m.sql);
    expect(mismatches.slice(0, 3)).toEqual([]);
    expect(new Set(records.map((r) => actorOf(r.event))).size).toBeGreaterThan(8);
  });

  it('in compiled filters', async () => {
    for (const q of [
      'actor:bob',
      'actor:mmosley',
      'actor:pod:*',
      'actor:sa:ns/*',
      'actor:*',
      '-actor:*',
      'actor:node:*',
    ]) {
      const { sql, params } = compileDuckDB(parseQuery(q));
      const got = Number(
        (
          await store.connection.runAndReadAll(`SELECT count(*) FROM events WHERE ${sql}`, params as never)
        ).getRows()[0]![0],
      );
      expect(got, q).toBe(records.filter(compileJs(parseQuery(q))).length);
    }
  });
});

describe('actor in detection rules', () => {
  it('conditions, aggregation keys and output templates use it', () => {
    const problems: Problem[] = [];
    const file = parseRuleFile(
      'actor.yaml',
      `
rules:
  - id: pod-token-secret-reads
    title: Secrets read by one pod's token
    severity: medium
    mitre: [T1552.007]
    condition: 'resource:secrets verb:get actor:pod:*'
    aggregate: { function: count, window: 5m, by: [actor], threshold: 3 }
    output: '{actor} read {count} secrets'
`,
      problems,
    );
    const rules = compileRuleSet(mergeRuleFiles(file ? [file] : [], problems), problems);
    expect(problems).toEqual([]);
    const read = (minute: number, pod: string): EventRecord => {
      const t = new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString().replace('Z', '000Z');
      return {
        cluster: 'c',
        event: {
          ...event({
            username: 'system:serviceaccount:ci:runner',
            extra: { 'authentication.kubernetes.io/pod-name': [pod] },
          }),
          verb: 'get',
          objectRef: { resource: 'secrets', namespace: 'ci', name: `s${minute}` },
          stageTimestamp: t,
          requestReceivedTimestamp: t,
        },
      };
    };
    const engine = new DetectionEngine(rules);
    // Two pods of one service account: only the pod that read three secrets is named.
    const alerts = engine.processBatch([read(0, 'a'), read(1, 'b'), read(2, 'a'), read(3, 'a')]);
    expect(alerts.map((a) => a.message)).toEqual(['pod:ci/a (sa runner) read 3 secrets']);
  });
});

describe('stats --by actor', () => {
  /** Expected counts per actor, worked out by the JS resolution. */
  const expected = (records: readonly EventRecord[], filter = '*') => {
    const counts = new Map<string | null, number>();
    for (const r of records.filter(compileJs(parseQuery(filter)))) {
      const a = actorOf(r.event) ?? null;
      counts.set(a, (counts.get(a) ?? 0) + 1);
    }
    return counts;
  };
  const sample = (): EventRecord[] =>
    [
      ...Array.from({ length: 5 }, () => GENERATED[8]![1]),
      ...Array.from({ length: 3 }, () => GENERATED[6]![1]),
      ...Array.from({ length: 2 }, () => GENERATED[1]![1]),
      GENERATED[11]![1],
      GENERATED[13]![1],
    ].map((e, i) => ({ cluster: 'c', event: { ...e, auditID: `s-${i}` } }));

  it('on a DuckDB store, through the command', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-actor-stats-'));
    try {
      const db = path.join(dir, 'kt.duckdb');
      const records = sample();
      const store = await openDuckDBStore(db);
      await store.write(records);
      await store.close();
      const r = await runCli(['stats', '--by', 'actor', '--db', db, '-o', 'json']);
      expect(r.code, r.err).toBe(0);
      const out = JSON.parse(r.out) as { total: number; values: { value: string | null; count: number }[] };
      expect(out.total).toBe(12);
      expect(new Map(out.values.map((v) => [v.value, v.count]))).toEqual(expected(records));
      expect(out.values[0]).toEqual({ value: 'pod:ops/ci-runner-7d9f (sa deployer)', count: 5 });
      const filtered = JSON.parse(
        (await runCli(['stats', '--by', 'actor', '--db', db, '-o', 'json', 'actor:(admin OR bob)'])).out,
      ) as { values: { value: string; count: number }[] };
      expect(filtered.values).toEqual([
        { value: 'admin', count: 3 },
        { value: 'bob', count: 2 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on a ClickHouse store (evaluated after the query)', () => {
    let ch: TestClickHouse;
    beforeAll(async () => {
      ch = await startTestClickHouse();
    }, 120_000);
    afterAll(() => ch?.stop());

    it('groups, filters and splits histograms by actor', async () => {
      const store = await openClickHouseStore(ch.location('kt_actor'));
      try {
        const records = sample();
        await store.write(records);
        const rows = await store.stats({ filter: parseQuery('*'), by: 'actor', limit: 20 });
        expect(new Map(rows.map((v) => [v.value, v.count]))).toEqual(expected(records));
        expect(await store.count(parseQuery('actor:node:* OR actor:pod:*'))).toBe(6);
        const hist = await store.histogram({
          filter: parseQuery('*'),
          intervalMs: 3_600_000,
          splitBy: 'actor',
        });
        expect(hist.flatMap((b) => Object.entries(b.counts)).find(([k]) => k === 'admin')?.[1]).toBe(3);
      } finally {
        await store.close();
      }
    }, 120_000);
  });
});
