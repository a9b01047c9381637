import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { BODIES_HIDDEN_NOTE, buildHistory, buildObjectHistory, diffObjects, stateAt } from './changes.js';
import { parseObjectArg, resolveKind } from './kinds.js';

let seq = 0;
function ev(verb: string, time: string, extra: Partial<AuditEvent> = {}): EventRecord {
  seq++;
  return {
    cluster: 'c1',
    event: {
      level: 'RequestResponse',
      auditID: `id-${seq}`,
      stage: 'ResponseComplete',
      requestURI: '/apis/apps/v1/namespaces/prod/deployments/web',
      verb,
      user: { username: 'alice' },
      objectRef: { resource: 'deployments', namespace: 'prod', name: 'web', apiGroup: 'apps' },
      responseStatus: { code: 200 },
      requestReceivedTimestamp: time,
      stageTimestamp: time,
      ...extra,
    },
  };
}

const deploy = (replicas: number, rv: string) => ({
  kind: 'Deployment',
  metadata: { name: 'web', resourceVersion: rv, managedFields: [{ manager: 'kubectl', time: rv }] },
  spec: { replicas, template: { spec: { containers: [{ name: 'web', image: 'web:1' }] } } },
});

describe('buildHistory', () => {
  it('diffs successive versions, leaving out managedFields and resourceVersion', () => {
    const h = buildHistory([
      ev('patch', '2024-05-01T10:02:00Z', { responseObject: deploy(3, '12') }),
      ev('create', '2024-05-01T10:00:00Z', { responseObject: deploy(2, '10') }),
      ev('get', '2024-05-01T10:01:00Z', { responseObject: deploy(2, '10') }),
    ]);
    expect(h.map((e) => e.verb)).toEqual(['create', 'patch']);
    expect(h[1]!.changes).toEqual([{ op: 'change', path: 'spec.replicas', old: 2, new: 3 }]);
    expect(JSON.stringify(h)).not.toContain('managedFields');
  });

  it('includes reads on request and shows refused writes without a diff', () => {
    const h = buildHistory(
      [
        ev('create', '2024-05-01T10:00:00Z', { responseObject: deploy(2, '10') }),
        ev('get', '2024-05-01T10:01:00Z'),
        ev('delete', '2024-05-01T10:02:00Z', {
          responseStatus: { code: 403 },
          user: { username: 'mallory' },
        }),
      ],
      { includeReads: true },
    );
    expect(h.map((e) => e.verb)).toEqual(['create', 'get', 'delete']);
    expect(h[2]).toMatchObject({ failed: true, code: 403, user: 'mallory' });
    expect(h[2]!.changes).toBeUndefined();
  });

  it('shows a patch as sent when the resulting object is not logged', () => {
    const h = buildHistory([
      ev('patch', '2024-05-01T10:00:00Z', { level: 'Request', requestObject: { spec: { replicas: 5 } } }),
    ]);
    expect(h[0]!.patch).toEqual({ spec: { replicas: 5 } });
    expect(h[0]!.note).toMatch(/patch as sent/);
  });

  it('says bodies are hidden, not unlogged, when the caller may not see them', () => {
    const records = [
      ev('create', '2024-05-01T10:00:00Z', { level: 'Metadata' }),
      ev('patch', '2024-05-01T10:01:00Z', { level: 'Metadata' }),
      ev('delete', '2024-05-01T10:02:00Z', { level: 'Metadata' }),
    ];
    expect(buildHistory(records).map((e) => e.note)).toEqual([
      'object body not logged at this level (Metadata)',
      'object body not logged at this level (Metadata)',
      undefined,
    ]);
    expect(buildHistory(records, { bodiesHidden: true }).map((e) => e.note)).toEqual([
      BODIES_HIDDEN_NOTE,
      BODIES_HIDDEN_NOTE,
      undefined,
    ]);
    expect(BODIES_HIDDEN_NOTE).toBe('hidden: this token may not see bodies');
  });

  it('keeps one entry per request when several stages are stored', () => {
    const a = ev('create', '2024-05-01T10:00:00Z', { stage: 'RequestReceived', responseStatus: undefined });
    const b: EventRecord = {
      cluster: 'c1',
      event: { ...a.event, stage: 'ResponseComplete', responseObject: deploy(1, '1') },
    };
    const h = buildHistory([a, b]);
    expect(h).toHaveLength(1);
    expect(h[0]!.changes).toContainEqual({ op: 'add', path: 'spec', new: deploy(1, '1').spec });
  });
});

describe('diffObjects', () => {
  it('reports additions, removals and array changes', () => {
    const d = diffObjects({ a: 1, list: ['x'], gone: true }, { a: 1, list: ['x', 'y'], added: { k: 'v' } });
    expect(d).toContainEqual({ op: 'add', path: 'list[1]', new: 'y' });
    expect(d).toContainEqual({ op: 'remove', path: 'gone', old: true });
    expect(d).toContainEqual({ op: 'add', path: 'added', new: { k: 'v' } });
  });
});

describe('kubectl-style names', () => {
  it.each([
    ['deployment', 'deployments', 'apps'],
    ['deploy', 'deployments', 'apps'],
    ['Deployment', 'deployments', 'apps'],
    ['deployments.apps', 'deployments', 'apps'],
    ['svc', 'services', ''],
    ['cm', 'configmaps', ''],
    ['clusterrolebinding', 'clusterrolebindings', 'rbac.authorization.k8s.io'],
    ['widgets.example.com', 'widgets', 'example.com'],
  ])('%s → %s in group %j', (text, resource, group) => {
    expect(resolveKind(text)).toMatchObject({ resource, group });
  });
  it('splits KIND/NAME', () => {
    expect(parseObjectArg('deploy/web')).toMatchObject({ name: 'web', kind: { resource: 'deployments' } });
    expect(parseObjectArg('web')).toBeUndefined();
    expect(parseObjectArg('deploy/')).toBeUndefined();
  });
});

describe('object states across writes', () => {
  const cm = (data: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'prod' },
    data,
  });
  const cmRef = { resource: 'configmaps', namespace: 'prod', name: 'settings', apiVersion: 'v1' };
  const at = (verb: string, time: string, extra: Partial<AuditEvent>) =>
    ev(verb, time, { objectRef: cmRef, requestURI: '/api/v1/namespaces/prod/configmaps/settings', ...extra });

  it('rebuilds known, derived, unknown and deleted states, never inventing one', () => {
    const h = buildObjectHistory([
      at('create', '2024-05-01T10:00:00.000000Z', { responseObject: cm({ a: '1' }) }),
      at('patch', '2024-05-01T10:01:00.000000Z', { level: 'Request', requestObject: { data: { b: '2' } } }),
      at('patch', '2024-05-01T10:02:00.000000Z', {
        level: 'Request',
        requestObject: [{ op: 'replace', path: '/data/a', value: '10' }],
      }),
      at('update', '2024-05-01T10:03:00.000000Z', { level: 'Metadata' }),
      at('patch', '2024-05-01T10:04:00.000000Z', { level: 'Request', requestObject: { data: { c: '3' } } }),
      at('patch', '2024-05-01T10:04:30.000000Z', {
        level: 'Request',
        requestObject: { data: { d: '4' } },
        responseStatus: { code: 409 },
      }),
      at('update', '2024-05-01T10:05:00.000000Z', { responseObject: cm({ z: '26' }) }),
      at('delete', '2024-05-01T10:06:00.000000Z', { responseObject: { kind: 'Status', status: 'Success' } }),
    ]);
    expect(h.entries.map((e) => e.state ?? '-')).toEqual([
      'known',
      'derived',
      'derived',
      'unknown',
      'unknown',
      '-',
      'known',
      'deleted',
    ]);
    expect(h.entries[1]).toMatchObject({ stateSource: 'strategic-merge-patch', patchTypeInferred: true });
    expect(h.entries[1]!.changes).toEqual([{ op: 'add', path: 'data.b', new: '2' }]);
    expect(h.entries[2]!.changes).toEqual([{ op: 'change', path: 'data.a', old: '1', new: '10' }]);
    expect(h.entries[4]!.patch).toEqual({ data: { c: '3' } });
    expect(h.entries[5]!.failed).toBe(true);
    expect(h.revisions).toHaveLength(7);
    expect(h.revisions[0]!.to).toBe('2024-05-01T10:01:00.000000Z');

    expect(stateAt(h, '2024-05-01T09:00:00Z').state).toBe('absent');
    expect(stateAt(h, '2024-05-01T10:02:30Z')).toMatchObject({
      state: 'derived',
      object: cm({ a: '10', b: '2' }),
    });
    expect(stateAt(h, '2024-05-01T10:04:10Z')).toMatchObject({ state: 'unknown' });
    expect(stateAt(h, '2024-05-01T10:04:10Z').object).toBeUndefined();
    expect(stateAt(h, '2024-05-01T10:05:30Z')).toMatchObject({ state: 'known', object: cm({ z: '26' }) });
    expect(stateAt(h, '2024-05-01T11:00:00Z').state).toBe('deleted');
  });

  it('a history that starts with a patch is unknown before and after it', () => {
    const h = buildObjectHistory([
      at('patch', '2024-05-01T10:00:00.000000Z', { level: 'Request', requestObject: { data: { a: '1' } } }),
      at('patch', '2024-05-01T10:01:00.000000Z', { level: 'Request', requestObject: { data: { b: '2' } } }),
    ]);
    expect(h.entries.map((e) => e.state)).toEqual(['unknown', 'unknown']);
    expect(stateAt(h, '2024-05-01T09:00:00Z')).toEqual({ state: 'unknown' });
    expect(stateAt(h, '2024-05-01T10:00:30Z').object).toBeUndefined();
    expect(stateAt(h, '2024-05-01T10:05:00Z').object).toBeUndefined();
  });

  it('a patch that replaces the whole object determines it even from an unknown state', () => {
    const h = buildObjectHistory([
      at('patch', '2024-05-01T10:00:00.000000Z', {
        level: 'Request',
        requestObject: [{ op: 'replace', path: '', value: cm({ a: '1' }) }],
      }),
      at('patch', '2024-05-01T10:01:00.000000Z', {
        level: 'Request',
        requestObject: { $patch: 'replace', ...cm({ b: '2' }) },
      }),
    ]);
    expect(h.entries.map((e) => e.state)).toEqual(['derived', 'derived']);
    expect(stateAt(h, '2024-05-01T10:05:00Z').object).toEqual(cm({ b: '2' }));
  });

  it('a server-side apply that created the object is derived from nothing', () => {
    const h = buildObjectHistory([
      at('patch', '2024-05-01T10:00:00.000000Z', {
        level: 'Request',
        requestURI: '/api/v1/namespaces/prod/configmaps/settings?fieldManager=kubectl&force=false',
        requestObject: cm({ a: '1' }),
        responseStatus: { code: 201 },
      }),
    ]);
    expect(h.entries[0]).toMatchObject({ state: 'derived', stateSource: 'apply' });
  });

  it('keeps Secret values redacted as stored', () => {
    const secretRef = { resource: 'secrets', namespace: 'prod', name: 'db', apiVersion: 'v1' };
    const secret = { kind: 'Secret', metadata: { name: 'db' }, data: { password: '[REDACTED]' } };
    const h = buildObjectHistory([
      ev('create', '2024-05-01T10:00:00.000000Z', { objectRef: secretRef, responseObject: secret }),
      ev('patch', '2024-05-01T10:01:00.000000Z', {
        objectRef: secretRef,
        level: 'Request',
        requestObject: { data: { token: '[REDACTED]' } },
      }),
    ]);
    const state = stateAt(h, '2024-05-01T10:02:00Z');
    expect(state).toMatchObject({
      state: 'derived',
      object: { data: { password: '[REDACTED]', token: '[REDACTED]' } },
    });
  });

  it('a delete answered with the object (finalizers) leaves it terminating, not gone', () => {
    const terminating = {
      ...cm({ a: '1' }),
      metadata: { name: 'settings', deletionTimestamp: '2024-05-01T10:01:00Z' },
    };
    const h = buildObjectHistory([
      at('create', '2024-05-01T10:00:00.000000Z', { responseObject: cm({ a: '1' }) }),
      at('delete', '2024-05-01T10:01:00.000000Z', { responseObject: terminating }),
    ]);
    expect(h.entries[1]).toMatchObject({ state: 'known', note: 'terminating' });
  });

  it('follows scale and binding subresources, and shows managedFields only when asked', () => {
    const dep = (replicas: number) => ({
      ...deploy(replicas, '1'),
      metadata: { name: 'web', managedFields: [{ manager: 'x' }] },
    });
    const h = buildObjectHistory(
      [
        ev('create', '2024-05-01T10:00:00.000000Z', { responseObject: dep(1) }),
        ev('patch', '2024-05-01T10:01:00.000000Z', {
          level: 'Request',
          objectRef: {
            resource: 'deployments',
            namespace: 'prod',
            name: 'web',
            apiGroup: 'apps',
            subresource: 'scale',
          },
          requestObject: { spec: { replicas: 4 } },
        }),
      ],
      { managedFields: true },
    );
    expect(h.entries[1]).toMatchObject({ state: 'derived', stateSource: 'scale' });
    expect(h.entries[1]!.changes).toEqual([{ op: 'change', path: 'spec.replicas', old: 1, new: 4 }]);
    expect(JSON.stringify(h.entries[0]!.changes)).toContain('managedFields');
    expect(
      JSON.stringify(
        buildObjectHistory([ev('create', '2024-05-01T10:00:00Z', { responseObject: dep(1) })]).entries,
      ),
    ).not.toContain('managedFields');
  });

  it('names the actor behind each write', () => {
    const h = buildHistory([
      ev('patch', '2024-05-01T10:00:00Z', {
        user: {
          username: 'system:serviceaccount:ops:deployer',
          extra: { 'authentication.kubernetes.io/pod-name': ['ci-1'] },
        },
      }),
    ]);
    expect(h[0]!.actor).toBe('pod:ops/ci-1 (sa deployer)');
  });
});
