// The loader against kube-apiserver's reader and validation tests (valid and invalid rules, v1/v1beta1,
// missing apiVersion/kind, unknown fields loaded leniently, policies without rules), plus positions,
// every problem at once, YAML 1.1 booleans, JSON input and hostile files.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isKubetrailError } from '../core/errors.js';
import { assertValid, loadPolicyFile, parsePolicy, readPolicyFile, MAX_POLICY_BYTES } from './load.js';
import type { PolicyRule } from './types.js';

const errors = (text: string) => parsePolicy(text).problems.filter((p) => p.severity === 'error');
const warnings = (text: string) => parsePolicy(text).problems.filter((p) => p.severity === 'warning');

/** A policy document with the given rules (as YAML flow mappings). */
function policyWith(rules: PolicyRule[], extra = ''): string {
  return `apiVersion: audit.k8s.io/v1\nkind: Policy\n${extra}rules:\n${rules.map((r) => `  - ${JSON.stringify(r)}`).join('\n')}\n`;
}

describe('kube-apiserver reader: loading', () => {
  const pattern = (version: string) => `
apiVersion: audit.k8s.io/${version}
kind: Policy
rules:
  - level: None
    nonResourceURLs:
      - /healthz*
      - /version
  - level: RequestResponse
    users: ["tim"]
    userGroups: ["testers", "developers"]
    verbs: ["patch", "delete", "create"]
    resources:
      - group: ""
      - group: "rbac.authorization.k8s.io"
        resources: ["clusterroles", "clusterrolebindings"]
    namespaces: ["default", "kube-system"]
  - level: Metadata
`;
  const expected = [
    { level: 'None', nonResourceURLs: ['/healthz*', '/version'] },
    {
      level: 'RequestResponse',
      users: ['tim'],
      userGroups: ['testers', 'developers'],
      verbs: ['patch', 'delete', 'create'],
      resources: [
        { group: '' },
        { group: 'rbac.authorization.k8s.io', resources: ['clusterroles', 'clusterrolebindings'] },
      ],
      namespaces: ['default', 'kube-system'],
    },
    { level: 'Metadata' },
  ];
  it('parses a v1 policy into the expected rules', () => {
    const loaded = parsePolicy(pattern('v1'));
    expect(loaded.problems).toEqual([]);
    expect(loaded.policy.rules).toEqual(expected);
  });
  it('accepts v1beta1, with a warning that current API servers no longer serve it', () => {
    const loaded = parsePolicy(pattern('v1beta1'));
    expect(loaded.problems.map((p) => [p.severity, p.id])).toEqual([['warning', 'deprecated-api-version']]);
    expect(loaded.policy.rules).toEqual(expected);
  });
  it('refuses a policy with no apiVersion or kind', () => {
    const text = pattern('v1').replace(/^apiVersion.*\nkind.*\n/m, '');
    expect(errors(text).map((p) => p.id)).toEqual(['missing-api-version']);
    expect(errors('apiVersion: audit.k8s.io/v1\nrules: [{level: Metadata}]\n').map((p) => p.id)).toEqual([
      'missing-kind',
    ]);
    expect(
      errors('apiVersion: audit.k8s.io/v1\nkind: Event\nrules: [{level: Metadata}]\n').map((p) => p.id),
    ).toEqual(['wrong-kind']);
    expect(errors('apiVersion: v1\nkind: Policy\nrules: [{level: Metadata}]\n').map((p) => p.id)).toEqual([
      'unknown-api-version',
    ]);
  });
  it('loads a policy with an unknown field (misplaced verbs), dropping it, with a warning', () => {
    const text = `
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources:
  - group: coordination.k8s.io
    resources:
    - "leases"
    verbs: ["watch", "get", "list"] # wrong indentation
`;
    const loaded = parsePolicy(text);
    expect(errors(text)).toEqual([]);
    expect(loaded.policy.rules).toEqual([
      { level: 'None', resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }] },
    ]);
    const w = warnings(text);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({
      id: 'unknown-field',
      path: 'rules[0].resources[0].verbs',
      line: 10,
      column: 5,
    });
  });
  it('refuses a policy with no rules and an empty file', () => {
    expect(errors('apiVersion: audit.k8s.io/v1\nkind: Policy').map((p) => p.id)).toEqual(['no-rules']);
    expect(errors('').map((p) => p.id)).toEqual(['empty']);
    expect(errors('# only a comment\n').map((p) => p.id)).toEqual(['empty']);
    expect(errors('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: []\n').map((p) => p.id)).toEqual([
      'no-rules',
    ]);
    expect(errors('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: null\n').map((p) => p.id)).toEqual([
      'no-rules',
    ]);
  });
});

describe('kube-apiserver validation: valid policies', () => {
  const valid: PolicyRule[] = [
    { level: 'Metadata' },
    { level: 'None', userGroups: ['system:serviceaccounts', 'system:nodes'] },
    {
      level: 'RequestResponse',
      verbs: ['get'],
      resources: [{ group: 'rbac.authorization.k8s.io', resources: ['roles', 'rolebindings'] }],
      namespaces: ['kube-system'],
    },
    {
      level: 'Metadata',
      userGroups: ['developers'],
      nonResourceURLs: ['/logs*', '/healthz*', '/metrics', '*'],
    },
    { level: 'Metadata', omitStages: ['RequestReceived'] },
  ];
  valid.forEach((rule, i) => {
    it(`valid rule ${i}`, () => expect(errors(policyWith([rule]))).toEqual([]));
  });
  it('several valid rules', () => expect(errors(policyWith(valid))).toEqual([]));
  it('policy-wide omitStages', () =>
    expect(errors(policyWith([{ level: 'Metadata' }], 'omitStages: [RequestReceived]\n'))).toEqual([]));
});

describe('kube-apiserver validation: invalid policies', () => {
  const invalid: [string, unknown, string][] = [
    ['empty rule (missing level)', {}, 'missing-level'],
    [
      'missing level',
      { verbs: ['get'], resources: [{ resources: ['secrets'] }], namespaces: ['kube-system'] },
      'missing-level',
    ],
    ['invalid level', { level: 'FooBar' }, 'invalid-level'],
    [
      'nonResourceURLs with namespaces',
      { level: 'Metadata', namespaces: ['default'], nonResourceURLs: ['/logs*'] },
      'mixed-rule',
    ],
    [
      'nonResourceURLs with resources',
      { level: 'Metadata', resources: [{ resources: ['secrets'] }], nonResourceURLs: ['/logs*'] },
      'mixed-rule',
    ],
    [
      'invalid group name',
      {
        level: 'Metadata',
        resources: [{ group: 'rbac.authorization.k8s.io/v1beta1', resources: ['roles'] }],
      },
      'invalid-group',
    ],
    [
      'non-resource URL without a leading slash',
      { level: 'Metadata', nonResourceURLs: ['logs', '/healthz*'] },
      'invalid-url',
    ],
    ['empty non-resource URL', { level: 'Metadata', nonResourceURLs: ['', '/healthz*'] }, 'invalid-url'],
    [
      'non-resource URL with two *',
      { level: 'Metadata', nonResourceURLs: ['/logs/*/*', '/metrics'] },
      'invalid-url',
    ],
    [
      'non-resource URL with * not at the end',
      { level: 'Metadata', nonResourceURLs: ['/logs/*.log', '/metrics'] },
      'invalid-url',
    ],
    [
      'resourceNames without resources',
      {
        level: 'Metadata',
        verbs: ['get'],
        resources: [{ resourceNames: ['leader'] }],
        namespaces: ['kube-system'],
      },
      'names-without-resources',
    ],
    ['invalid omitStages in a rule', { level: 'Metadata', omitStages: ['foo'] }, 'invalid-stage'],
  ];
  for (const [name, rule, id] of invalid) {
    it(name, () => expect(errors(policyWith([rule as PolicyRule])).map((p) => p.id)).toEqual([id]));
  }
  it('several rules, the last one empty', () => {
    const text = policyWith([
      { level: 'Metadata' },
      { level: 'None', userGroups: ['system:nodes'] },
      {} as PolicyRule,
    ]);
    expect(errors(text).map((p) => [p.id, p.path])).toEqual([['missing-level', 'rules[2].level']]);
  });
  it('invalid omitStages in the policy', () => {
    expect(
      errors(policyWith([{ level: 'Metadata' }], 'omitStages: [foo]\n')).map((p) => [p.id, p.path]),
    ).toEqual([['invalid-stage', 'omitStages[0]']]);
  });
});

describe('problems: all at once, with paths and positions', () => {
  const text = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, Nope]
rules:
  - level: Metadatas
    users: tim
  - level: Request
    resources:
      - group: Apps
        resources: [deployments, 5]
    omitManagedFields: "yes"
  - levle: None
`;
  const loaded = parsePolicy(text, 'p.yaml');
  it('reports every problem in file order', () => {
    expect(loaded.problems.map((p) => [p.severity, p.id, p.path, p.line, p.column])).toEqual([
      ['error', 'invalid-stage', 'omitStages[1]', 3, 31],
      ['error', 'invalid-level', 'rules[0].level', 5, 12],
      ['error', 'wrong-type', 'rules[0].users', 6, 12],
      ['error', 'invalid-group', 'rules[1].resources[0].group', 9, 16],
      ['error', 'wrong-type', 'rules[1].resources[0].resources[1]', 10, 34],
      ['error', 'wrong-type', 'rules[1].omitManagedFields', 11, 24],
      ['warning', 'unknown-field', 'rules[2].levle', 12, 5],
      ['error', 'missing-level', 'rules[2].level', 12, 5],
    ]);
    expect(loaded.problems.every((p) => p.file === 'p.yaml')).toBe(true);
    expect(loaded.problems.find((p) => p.id === 'unknown-field')!.message).toContain('did you mean "level"');
  });
  it('assertValid raises KT_POLICY_INVALID at the first error, listing the rest', () => {
    try {
      assertValid(loaded);
      expect.unreachable();
    } catch (err) {
      expect(isKubetrailError(err) && err.code).toBe('KT_POLICY_INVALID');
      if (!isKubetrailError(err)) return;
      expect(err.where).toEqual({ file: 'p.yaml', line: 3, column: 31, path: 'omitStages[1]' });
      expect(err.message).toContain('and 6 more');
      expect(err.exitCode).toBe(2);
    }
  });
});

describe('decoding like the API server', () => {
  it('reads JSON', () => {
    const loaded = parsePolicy(
      '{"apiVersion":"audit.k8s.io/v1","kind":"Policy","omitManagedFields":true,"rules":[{"level":"Metadata","omitManagedFields":false}]}',
    );
    expect(loaded.problems).toEqual([]);
    expect(loaded.policy).toEqual({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitManagedFields: true,
      rules: [{ level: 'Metadata', omitManagedFields: false }],
    });
  });
  it('YAML 1.1 booleans (yes, on) in a string list are errors, as in the API server', () => {
    const e = errors(
      policyWith([{ level: 'Metadata' }]).replace(
        'rules:',
        'rules:\n  - level: Request\n    verbs: [get, on]',
      ),
    );
    expect(e.map((p) => p.id)).toEqual(['wrong-type']);
    expect(e[0]!.message).toContain('quote it');
  });
  it('a duplicate key is a warning and the last value wins', () => {
    const loaded = parsePolicy(
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n    level: Metadata\n',
    );
    expect(loaded.problems.map((p) => p.id)).toEqual(['duplicate-field']);
    expect(loaded.policy.rules[0]!.level).toBe('Metadata');
  });
  it('only the first YAML document is read', () => {
    const loaded = parsePolicy(
      `${policyWith([{ level: 'Metadata' }])}---\n${policyWith([{ level: 'None' }])}`,
    );
    expect(loaded.problems.map((p) => p.id)).toEqual(['extra-document']);
    expect(loaded.policy.rules).toEqual([{ level: 'Metadata' }]);
  });
  it('anchors and aliases resolve', () => {
    const loaded = parsePolicy(
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n    verbs: &reads [get, list]\n  - level: Metadata\n    verbs: *reads\n',
    );
    expect(loaded.problems).toEqual([]);
    expect(loaded.policy.rules[1]!.verbs).toEqual(['get', 'list']);
  });
  it('metadata is accepted; null lists are empty', () => {
    const loaded = parsePolicy(
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nmetadata: {name: x}\nrules:\n  - level: Metadata\n    users: null\n',
    );
    expect(loaded.problems).toEqual([]);
    expect(loaded.policy.rules).toEqual([{ level: 'Metadata' }]);
  });
});

describe('hostile input', () => {
  it('syntax errors are located', () => {
    const e = errors('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [level: Metadata\n');
    expect(e).toHaveLength(1);
    expect(e[0]!.id).toBe('syntax');
    expect(e[0]!.line).toBeGreaterThanOrEqual(3);
  });
  it('a document that is not a mapping', () => {
    expect(errors('- a\n- b\n').map((p) => p.id)).toEqual(['wrong-type']);
    expect(errors('42\n').map((p) => p.id)).toEqual(['wrong-type']);
    expect(
      errors('apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [1, "x", [], {level: Metadata}]\n').map(
        (p) => p.id,
      ),
    ).toEqual(['wrong-type', 'wrong-type', 'wrong-type']);
  });
  it('an alias bomb is refused, not expanded', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      lines.push(
        `a${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const text = `apiVersion: audit.k8s.io/v1\nkind: Policy\n${lines.join('\n')}\nrules:\n  - level: Metadata\n    users: *a11\n`;
    const loaded = parsePolicy(text);
    expect(loaded.problems.some((p) => p.severity === 'error')).toBe(true);
  });
  it('files: missing, a directory, too large, stdin', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'kt-policy-'));
    await expect(readPolicyFile(path.join(dir, 'nope.yaml'))).rejects.toMatchObject({
      code: 'KT_POLICY_READ',
    });
    await expect(readPolicyFile(dir)).rejects.toMatchObject({ code: 'KT_POLICY_READ' });
    const big = path.join(dir, 'big.yaml');
    await writeFile(big, Buffer.alloc(MAX_POLICY_BYTES + 1, 0x20));
    await expect(readPolicyFile(big)).rejects.toMatchObject({ code: 'KT_POLICY_READ' });
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: Nope}]\n');
    await expect(loadPolicyFile(bad)).rejects.toMatchObject({
      code: 'KT_POLICY_INVALID',
      where: { file: bad, line: 3 },
    });
    const fromStdin = await readPolicyFile(
      '-',
      Readable.from([
        Buffer.from('\ufeffapiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None}]\n'),
      ]),
    );
    expect(fromStdin.problems).toEqual([]);
    expect(fromStdin.file).toBe('<stdin>');
  });
});
