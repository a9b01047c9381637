import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { BODIES_HIDDEN_NOTE, buildHistory, diffObjects } from './changes.js';
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
