// The rbac commands end to end, in process: suggest from a log file (YAML for kubectl apply, a v1 List as
// JSON, exit 1 when the subject made no request, usage errors), and unused against an RBAC dump (table
// with dangerous unused grants first, JSON, the diff, placed errors for bad input, exit codes).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import type { AuditEvent } from '../../core/event.js';
import { rbacProblems } from '../../rbac/schema.js';
import { runCli } from '../../test-support/cli.js';
import { makeEvent } from '../../test-support/events.js';

const run = (...args: string[]) => runCli(args);
let dir: string;
let events: string;
let rbacFile: string;
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const ev = (o: Partial<AuditEvent>) => makeEvent(o);

const RBAC = `apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: app-reader
    resourceVersion: "42"
  rules:
  - apiGroups: [""]
    resources: ["pods", "secrets"]
    verbs: ["get", "list"]
  - apiGroups: [""]
    resources: ["pods/exec"]
    verbs: ["create"]
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: alice-reads
    namespace: default
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: app-reader
  subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: alice
- apiVersion: v1
  kind: ConfigMap
  metadata:
    name: not-rbac
`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-rbac-cli-'));
  const alice = { username: 'alice', groups: ['system:authenticated'] };
  const list: AuditEvent[] = [
    ev({
      user: alice,
      verb: 'get',
      objectRef: { resource: 'pods', namespace: 'default', name: 'web', apiVersion: 'v1' },
    }),
    ev({
      user: alice,
      verb: 'list',
      objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
    }),
    ev({
      user: alice,
      verb: 'delete',
      objectRef: { resource: 'pods', namespace: 'prod', name: 'db', apiVersion: 'v1' },
      responseStatus: { code: 403 },
      annotations: { 'authorization.k8s.io/decision': 'forbid' },
    }),
  ];
  events = file('audit.log', list.map((e) => JSON.stringify(e)).join('\n') + '\n');
  rbacFile = file('rbac.yaml', RBAC);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('rbac suggest', () => {
  it('writes valid RBAC v1 YAML with the refused requests in a comment', async () => {
    const r = await run('rbac', 'suggest', '--file', events, '--user', 'alice', '--names');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '# asked for and refused (not granted here):\n#   delete pods db in namespace prod (1×',
    );
    const docs = parseAllDocuments(r.out).map((d) => d.toJS() as { kind: string });
    expect(docs.map((d) => d.kind)).toEqual(['Role', 'RoleBinding']);
    expect(docs.flatMap((d) => rbacProblems(d, true))).toEqual([]);
    expect(docs[0]).toMatchObject({
      metadata: { name: 'kubetrail:alice', namespace: 'default' },
      rules: [
        { apiGroups: [''], resources: ['pods'], verbs: ['get'], resourceNames: ['web'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      ],
    });
  });

  it('-o json is a v1 List; --expand-verbs grants get, list and watch together', async () => {
    const r = await run(
      'rbac',
      'suggest',
      '--file',
      events,
      '--user',
      'alice',
      '--expand-verbs',
      '-o',
      'json',
    );
    expect(r.code).toBe(0);
    const list = JSON.parse(r.out) as { kind: string; items: { kind: string; rules?: unknown[] }[] };
    expect(list.kind).toBe('List');
    expect(list.items[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
    ]);
  });

  it('--rbac leaves out what the given RBAC objects already allow', async () => {
    const r = await run('rbac', 'suggest', '--file', events, '--user', 'alice', '--rbac', rbacFile);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      '# 2 distinct allowed requests left out: the given RBAC objects already allow them\n',
    );
    expect(r.out).toContain('# nothing left to grant: no objects to suggest\n');
    expect(r.out).not.toContain('apiVersion');
  });

  it('exit 1 when the subject made no request; 2 without exactly one subject', async () => {
    const none = await run('rbac', 'suggest', '--file', events, '--user', 'nobody');
    expect(none).toMatchObject({ code: 1, out: '' });
    expect(none.err).toContain('no requests by user:nobody');
    expect((await run('rbac', 'suggest', '--file', events)).code).toBe(2);
    expect((await run('rbac', 'suggest', '--file', events, '--user', 'a', '--group', 'b')).code).toBe(2);
    expect((await run('rbac', 'suggest', '--file', events, '--serviceaccount', 'nocolon')).code).toBe(2);
    expect((await run('rbac', 'suggest', '--file', events, '--user', 'alice', '-o', 'table')).code).toBe(2);
  });
});

describe('rbac unused', () => {
  it('lists the grants, dangerous unused ones first, and exits 1 when some are unused', async () => {
    const r = await run('rbac', 'unused', '--rbac', rbacFile, '--file', events);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^SUBJECT\s+NAMESPACE\s+PERMISSION\s+ROLE\s+USES\s+LAST USED\s+NOTE/);
    expect(lines.slice(1, 4).every((l) => l.includes('DANGEROUS'))).toBe(true);
    expect(r.out).toMatch(/user:alice\s+default\s+get pods\s+ClusterRole\/app-reader\s+1\s+2024-/);
    expect(r.err).toContain(
      '1 subjects, 5 granted permissions, 3 unused in the range (3 dangerous), from 3 events',
    );
    expect(r.err).toContain('1 objects of other kinds skipped');
  });

  it('-o json says what to remove; -o diff removes it from the role', async () => {
    const j = await run('rbac', 'unused', '--rbac', rbacFile, '--file', events, '-o', 'json');
    const data = JSON.parse(j.out) as { remove: { role: string; permissions: string[] }[] };
    expect(data.remove).toEqual([
      { role: 'ClusterRole/app-reader', permissions: ['get secrets', 'list secrets', 'create pods/exec'] },
    ]);
    const d = await run('rbac', 'unused', '--rbac', rbacFile, '--file', events, '-o', 'diff');
    expect(d.code).toBe(1);
    expect(d.out).toContain('--- a/ClusterRole/app-reader\n+++ b/ClusterRole/app-reader\n');
    expect(d.out).toContain('-      - secrets\n');
    expect(d.out).toContain(
      '-  - apiGroups:\n-      - ""\n-    resources:\n-      - pods/exec\n-    verbs:\n-      - create\n',
    );
  });

  it('--subject narrows to one subject; a bad one is a usage error', async () => {
    const r = await run('rbac', 'unused', '--rbac', rbacFile, '--file', events, '--subject', 'user:bob');
    expect(r.code).toBe(0);
    expect(r.err).toContain('no binding names user:bob');
    expect(
      (await run('rbac', 'unused', '--rbac', rbacFile, '--file', events, '--subject', 'robot:x')).code,
    ).toBe(2);
  });

  it('bad RBAC input: placed errors, exit 2', async () => {
    const bad = file(
      'bad.yaml',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: r\n  namespace: x\nrules:\n- verbs: []\n  apiGroups: [""]\n  resources: [pods]\n',
    );
    const r = await run('rbac', 'unused', '--rbac', bad, '--file', events);
    expect(r.code).toBe(2);
    expect(r.err).toContain(
      `KT_RBAC_INVALID: ${bad}:7:10 (rules[0].verbs): Role: a rule needs at least one verb`,
    );
    const broken = file('broken.yaml', 'kind: Role\n  bad: [\n');
    expect((await run('rbac', 'unused', '--rbac', broken, '--file', events)).err).toMatch(
      /KT_RBAC_READ: .*broken\.yaml:\d+:\d+/,
    );
    expect(
      (await run('rbac', 'unused', '--rbac', path.join(dir, 'missing.yaml'), '--file', events)).code,
    ).toBe(2);
  });
});
