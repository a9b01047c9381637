// Lint: each check fires on the policy it is about and stays quiet on a good one; the presets are clean.
import { describe, expect, it } from 'vitest';
import { parsePolicy } from './load.js';
import { isCatchAll, ruleCovers } from './coverage.js';
import { lintPolicy } from './lint.js';
import { presetYaml } from './presets.js';
import type { PolicyRule } from './types.js';

const HEAD = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n';
const NOISE = `  - level: None
    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
  - level: None
    resources: [{group: coordination.k8s.io, resources: [leases]}]
`;
const ids = (rules: string, head = HEAD, opts = {}) =>
  lintPolicy(parsePolicy(head + rules, 'p.yaml'), opts).map((p) => p.id);
const find = (rules: string, id: string, head = HEAD) =>
  lintPolicy(parsePolicy(head + rules, 'p.yaml')).filter((p) => p.id === id);

describe('a clean policy has no findings', () => {
  it('noise dropped, secrets at Metadata, catch-all last', () => {
    expect(
      ids(
        `${NOISE}  - level: Metadata\n    resources: [{group: "", resources: [secrets, configmaps, serviceaccounts/token]}, {group: authentication.k8s.io, resources: [tokenreviews]}]\n  - level: Request\n`,
      ),
    ).toEqual([]);
  });
  it('the cis and recommended presets are clean; minimal only misses the noise and RequestReceived', () => {
    expect(lintPolicy(parsePolicy(presetYaml('cis')))).toEqual([]);
    expect(lintPolicy(parsePolicy(presetYaml('recommended')))).toEqual([]);
    expect(
      lintPolicy(parsePolicy(presetYaml('minimal')))
        .map((p) => p.id)
        .sort(),
    ).toEqual(['noise-logged', 'request-received-logged']);
  });
});

describe('shadowed rules', () => {
  it('a rule after a catch-all', () => {
    const f = find(`${NOISE}  - level: Metadata\n  - level: None\n    verbs: [get]\n`, 'shadowed-rule');
    expect(f.map((p) => p.path)).toEqual(['rules[3]']);
    expect(f[0]!.line).toBe(10);
  });
  it('coverage rules: lists, scopes, groups, resources, names, URLs', () => {
    const c = (a: PolicyRule, b: PolicyRule) => ruleCovers(a, b);
    expect(c({ level: 'None', verbs: ['get', 'list'] }, { level: 'None', verbs: ['get'] })).toBe(true);
    expect(c({ level: 'None', verbs: ['get'] }, { level: 'None' })).toBe(false);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['pods/*'] }] },
        { level: 'None', resources: [{ resources: ['pods', 'pods/log'] }] },
      ),
    ).toBe(true);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['*/status'] }] },
        { level: 'None', resources: [{ resources: ['nodes/status'] }] },
      ),
    ).toBe(true);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['pods'] }] },
        { level: 'None', resources: [{ resources: ['pods/log'] }] },
      ),
    ).toBe(false);
    expect(
      c(
        { level: 'None', resources: [{ group: 'apps' }] },
        { level: 'None', resources: [{ group: 'apps', resources: ['deployments'] }] },
      ),
    ).toBe(true);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['deployments'] }] },
        { level: 'None', resources: [{ group: 'apps', resources: ['deployments'] }] },
      ),
    ).toBe(false);
    expect(
      c(
        { level: 'None', resources: [{ group: '*', resources: ['secrets'] }] },
        { level: 'None', resources: [{ resources: ['secrets'] }] },
      ),
    ).toBe(true);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['leases'], resourceNames: ['a', 'b'] }] },
        { level: 'None', resources: [{ resources: ['leases'], resourceNames: ['a'] }] },
      ),
    ).toBe(true);
    expect(
      c(
        { level: 'None', resources: [{ resources: ['leases'], resourceNames: ['a'] }] },
        { level: 'None', resources: [{ resources: ['leases'] }] },
      ),
    ).toBe(false);
    expect(
      c(
        { level: 'None', nonResourceURLs: ['/healthz*'] },
        { level: 'None', nonResourceURLs: ['/healthz/etcd', '/healthz/*'] },
      ),
    ).toBe(true);
    expect(
      c({ level: 'None', nonResourceURLs: ['/healthz/*'] }, { level: 'None', nonResourceURLs: ['/healthz'] }),
    ).toBe(false);
    expect(c({ level: 'None', namespaces: ['a'] }, { level: 'None', nonResourceURLs: ['/x'] })).toBe(false);
    expect(
      c(
        { level: 'None', namespaces: ['a', 'b'] },
        { level: 'None', namespaces: ['a'], resources: [{ resources: ['pods'] }] },
      ),
    ).toBe(true);
    expect(c({ level: 'None', users: ['a'] }, { level: 'None', userGroups: ['g'] })).toBe(false);
    expect(isCatchAll({ level: 'Metadata', omitStages: ['Panic'] })).toBe(true);
  });
});

describe('credential bodies', () => {
  it('Secrets at RequestResponse', () => {
    const f = find(
      `${NOISE}  - level: RequestResponse\n    resources: [{group: "", resources: [secrets]}]\n  - level: Metadata\n`,
      'credential-bodies',
    );
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toContain('Secrets');
  });
  it('a catch-all at Request leaks all four, unless an earlier rule takes them', () => {
    const f = find(`${NOISE}  - level: Request\n`, 'credential-bodies');
    expect(f[0]!.message).toMatch(/Secrets, ConfigMaps, TokenReviews, TokenRequests/);
    expect(
      find(
        `${NOISE}  - level: Metadata\n    resources: [{group: "", resources: [secrets, configmaps]}]\n  - level: Request\n`,
        'credential-bodies',
      )[0]!.message,
    ).toMatch(/logs TokenReviews, TokenRequests/);
  });
  it('a Request rule for other users or resources does not count', () => {
    expect(
      find(
        `${NOISE}  - level: Request\n    resources: [{group: apps}]\n  - level: Metadata\n`,
        'credential-bodies',
      ),
    ).toEqual([]);
  });
});

describe('other checks', () => {
  it('no catch-all rule', () =>
    expect(ids(`${NOISE}  - level: Metadata\n    verbs: [get]\n`)).toContain('no-catch-all'));
  it('RequestReceived not omitted, unless every logging rule omits it', () => {
    const head = 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n';
    expect(ids(`${NOISE}  - level: Metadata\n`, head)).toContain('request-received-logged');
    expect(ids(`${NOISE}  - level: Metadata\n    omitStages: [RequestReceived]\n`, head)).not.toContain(
      'request-received-logged',
    );
  });
  it('ResponseStarted omitted loses 401s', () => {
    expect(
      ids(
        `${NOISE}  - level: Metadata\n`,
        'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived, ResponseStarted]\nrules:\n',
      ),
    ).toContain('response-started-omitted');
    expect(ids(`${NOISE}  - level: Metadata\n    omitStages: [ResponseStarted]\n`)).toContain(
      'response-started-omitted',
    );
    expect(
      ids(
        `${NOISE}  - level: Metadata\n    userGroups: [g]\n    omitStages: [ResponseStarted]\n  - level: Metadata\n`,
      ),
    ).not.toContain('response-started-omitted');
  });
  it('list or watch at RequestResponse', () => {
    expect(
      ids(
        `${NOISE}  - level: RequestResponse\n    resources: [{group: apps, resources: [deployments]}]\n  - level: Metadata\n`,
      ),
    ).toContain('list-watch-bodies');
    expect(
      ids(
        `${NOISE}  - level: RequestResponse\n    verbs: [create]\n    resources: [{group: apps, resources: [deployments]}]\n  - level: Metadata\n`,
      ),
    ).not.toContain('list-watch-bodies');
  });
  it('health checks and leases logged', () => {
    const f = find('  - level: Metadata\n', 'noise-logged');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/healthz/);
    expect(
      ids(
        `  - level: None\n    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]\n  - level: Metadata\n`,
      ),
    ).toContain('noise-logged');
  });
  it('groups that do not exist, resources in the wrong group, removed groups', () => {
    const rules = `${NOISE}  - level: Request\n    resources: [{group: core, resources: [pods]}, {group: extensions}, {group: widgets.k8s.io}, {group: example.com, resources: [widgets]}, {group: "", resources: [deployments]}, {group: apps, resources: [pods]}]\n  - level: Metadata\n`;
    const f = lintPolicy(parsePolicy(HEAD + rules)).filter(
      (p) => p.id === 'unknown-group' || p.id === 'unknown-resource',
    );
    expect(f.map((p) => [p.id, p.path])).toEqual([
      ['unknown-group', 'rules[2].resources[0].group'],
      ['unknown-group', 'rules[2].resources[1].group'],
      ['unknown-group', 'rules[2].resources[2].group'],
      ['unknown-resource', 'rules[2].resources[4].resources[0]'],
      ['unknown-resource', 'rules[2].resources[5].resources[0]'],
    ]);
    expect(f[3]!.message).toContain('"apps"');
  });
  it('unknown verbs and literal wildcards', () => {
    const got = ids(
      `${NOISE}  - level: Request\n    verbs: [gets, "*"]\n    users: ["system:*"]\n    namespaces: ["kube-*"]\n  - level: Metadata\n`,
    );
    expect(got.filter((x) => x === 'unknown-verb')).toHaveLength(1);
    expect(got.filter((x) => x === 'literal-wildcard')).toHaveLength(3);
  });
  it('group "*" needs Kubernetes 1.36', () => {
    const rules = `${NOISE}  - level: Metadata\n    resources: [{group: "*", resources: [secrets]}]\n  - level: Metadata\n`;
    expect(ids(rules)).toContain('group-wildcard');
    expect(ids(rules, HEAD, { kubernetesVersion: '1.36' })).not.toContain('group-wildcard');
    expect(ids(rules, HEAD, { kubernetesVersion: 'v1.35.2' })).toContain('group-wildcard');
  });
  it('a /x/* URL that does not match /x', () => {
    expect(
      ids(
        `  - level: None\n    nonResourceURLs: ["/healthz/*", "/livez*", "/readyz*"]\n${NOISE}  - level: Metadata\n`,
      ),
    ).toContain('url-prefix');
  });
  it('errors stop lint: the loader problems only', () => {
    expect(ids('  - level: Nope\n')).toEqual(['invalid-level']);
  });
});
