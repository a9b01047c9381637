// audit2rbac's own demo log (shared corpus): imported into a real DuckDB store and read back over the
// whole range, the suggestion for each of its users allows every request the API server allowed in it,
// refuses to grant what it refused, and is valid RBAC v1. Skipped when the corpus is absent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryQuarantine, readEvents } from '../ingest/index.js';
import { openDuckDBStore } from '../store/duckdb/store.js';
import { allEvents } from '../store/paging.js';
import type { Store } from '../store/store.js';
import { corpusPath } from '../test-support/requirements.js';
import { RbacEvaluator } from './evaluate.js';
import { suggestionYaml } from './render.js';
import { RequestTally, type Observation } from './requests.js';
import { rbacProblems } from './schema.js';
import { parseSubject } from './subject.js';
import { suggest } from './suggest.js';

const corpus = corpusPath();
const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-rbac-corpus-'));
let store: Store;
let observations: Observation[];

describe.skipIf(!corpus)('audit2rbac demo log (skipped without ../shared/corpus)', () => {
  beforeAll(async () => {
    store = await openDuckDBStore(path.join(dir, 'demo.duckdb'));
    for await (const batch of readEvents([path.join(corpus!, 'audit2rbac', 'demo.log')], {
      quarantine: createMemoryQuarantine(),
    }))
      await store.write(batch);
    const tally = new RequestTally();
    for await (const page of allEvents(store)) for (const r of page) tally.add(r.event);
    expect(tally.events).toBe(37);
    observations = tally.observations();
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['user:bob', 'user:alice', 'serviceaccount:ns1:sa1', 'user:system:admin'])(
    'the suggestion for %s allows every allowed request and grants no refused one',
    (who) => {
      const s = suggest(observations, { subject: parseSubject(who) });
      expect(s.objects.flatMap((o) => rbacProblems(o, true))).toEqual([]);
      const ev = new RbacEvaluator(s.set);
      for (const o of observations.filter((x) => x.outcome === 'allowed' && s.allowed.includes(x)))
        expect(ev.allows(o.request), JSON.stringify(o.request)).toBe(true);
      for (const r of s.refused) expect(ev.allows(r.request)).toBe(r.grantedAnyway);
    },
  );

  it("bob's suggestion: pods listed in default, discovery paths, and the refused requests named", () => {
    const s = suggest(observations, { subject: parseSubject('user:bob') });
    expect(s.allowed.reduce((n, o) => n + o.count, 0)).toBe(25);
    const yaml = suggestionYaml(s);
    expect(yaml).toMatchSnapshot();
    expect(yaml).toContain('#   list pods in namespace ns1 (1×');
    expect(yaml).toContain('#   list nodes (cluster-wide)');
  });

  it('system:admin, who impersonated the others, needs impersonate on exactly them', () => {
    const s = suggest(observations, { subject: parseSubject('user:system:admin') });
    expect(s.objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`)).toEqual([
      'ClusterRole//kubetrail:system:admin',
      'ClusterRoleBinding//kubetrail:system:admin',
      'Role/ns1/kubetrail:system:admin',
      'RoleBinding/ns1/kubetrail:system:admin',
    ]);
    expect(s.set.clusterRoles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['users'], verbs: ['impersonate'], resourceNames: ['alice', 'bob'] },
    ]);
    expect(s.set.roles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'], resourceNames: ['sa1'] },
    ]);
  });
});
