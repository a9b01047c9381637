import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../test-support/events.js';
import { CORPUS, available } from '../test-support/requirements.js';
import { parseResourceName } from './formats/gke-cloud-audit.js';
import { SYNTHESIZED_ID_ANNOTATION } from './formats/audit-event.js';
import { normalizeDocument, normalizeEvent } from './normalize.js';

const ok = (v: unknown) => {
  const n = normalizeEvent(v);
  if (!('event' in n)) throw new Error(n.error);
  return n.event;
};

describe('normalizeEvent', () => {
  it('returns a complete v1 event as it is', () => {
    const e = makeEvent();
    expect(ok(e)).toBe(e);
  });

  it('fills what minimal records lack, with a stable synthesized auditID', () => {
    const minimal = {
      verb: 'create',
      objectRef: { resource: 'pods' },
      stageTimestamp: '2024-01-01T00:00:00Z',
      p_log_type: 'x',
    };
    const a = ok(minimal);
    expect(a).toMatchObject({
      stage: 'ResponseComplete',
      level: 'Metadata',
      user: {},
      requestReceivedTimestamp: '2024-01-01T00:00:00Z',
    });
    expect(a.annotations?.[SYNTHESIZED_ID_ANNOTATION]).toBe('true');
    expect(ok(minimal).auditID).toBe(a.auditID);
    expect(a).not.toHaveProperty('p_log_type');
  });

  it('unwraps EKS CloudWatch and AKS diagnostic records', () => {
    const e = makeEvent({ verb: 'patch' });
    expect(ok({ timestamp: 1, message: JSON.stringify(e) }).verb).toBe('patch');
    expect(ok({ category: 'kube-audit', properties: { log: JSON.stringify(e) } }).verb).toBe('patch');
    const n = normalizeEvent({ category: 'cluster-autoscaler', properties: { log: '{}' } });
    expect('error' in n && n.error).toMatch(/not an audit log/);
    expect(
      normalizeDocument({
        records: [{ category: 'kube-audit-admin', properties: { log: JSON.stringify(e) } }],
      }),
    ).toHaveLength(1);
  });

  it('converts GKE Cloud Audit Logs entries', () => {
    const e = ok({
      protoPayload: {
        '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
        authenticationInfo: { principalEmail: 'dev@example.com' },
        methodName: 'io.k8s.core.v1.pods.exec.create',
        requestMetadata: { callerIp: '88.88.88.88', callerSuppliedUserAgent: 'kubectl/v1.30' },
        resourceName: 'core/v1/namespaces/istio-system/pods/opa-1/exec',
        status: { code: 7, message: 'denied' },
      },
      timestamp: '2022-03-04T16:01:49.978756Z',
      operation: { id: 'op-1' },
      resource: { type: 'k8s_cluster', labels: { cluster_name: 'prod' } },
    });
    expect(e).toMatchObject({
      auditID: 'op-1',
      verb: 'create',
      user: { username: 'dev@example.com' },
      sourceIPs: ['88.88.88.88'],
      userAgent: 'kubectl/v1.30',
      objectRef: {
        resource: 'pods',
        namespace: 'istio-system',
        name: 'opa-1',
        subresource: 'exec',
        apiVersion: 'v1',
      },
      responseStatus: { code: 403 },
      requestURI: '/api/v1/namespaces/istio-system/pods/opa-1/exec',
      stageTimestamp: '2022-03-04T16:01:49.978756Z',
    });
  });

  it('parses GKE resource names', () => {
    expect(parseResourceName('rbac.authorization.k8s.io/v1/clusterrolebindings/admins')).toEqual({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      resource: 'clusterrolebindings',
      name: 'admins',
    });
    expect(parseResourceName('core/v1/namespaces/foo')).toMatchObject({
      resource: 'namespaces',
      name: 'foo',
    });
  });

  it('says why a record is not an event, with the field path', () => {
    expect(normalizeEvent({ ...makeEvent(), user: 'alice' })).toEqual({
      error: 'user must be an object, not a string',
      path: 'user',
    });
    expect(normalizeEvent({ ...makeEvent(), sourceIPs: [1] })).toMatchObject({ path: 'sourceIPs' });
    expect(normalizeEvent({ ...makeEvent(), annotations: { a: 1 } })).toMatchObject({
      path: 'annotations.a',
    });
    expect(normalizeDocument({ kind: 'EventList', items: [makeEvent(), 5] })[1]).toMatchObject({
      path: 'items[1]',
    });
  });
});

const panther = path.join(CORPUS.path, 'panther-k8s/tests.jsonl');

describe.skipIf(!available(CORPUS))(
  'managed-cluster shapes from the shared corpus (skipped without ../shared/corpus)',
  () => {
    const tests = existsSync(panther)
      ? readFileSync(panther, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { log_type: string; log: Record<string, unknown> })
      : [];

    it('every AKS record with an audit event normalizes', () => {
      const aks = tests.filter((t) => t.log_type === 'Azure.MonitorActivity');
      const events = aks
        .map((t) => normalizeEvent(t.log, { defaultTime: '2024-01-01T00:00:00Z' }))
        .filter((n) => 'event' in n);
      expect(events.length).toBeGreaterThan(aks.length * 0.8);
    });

    it('GKE entries for Kubernetes methods normalize with user, verb and resource', () => {
      const opts = { defaultTime: '2024-01-01T00:00:00Z' };
      const gke = tests.filter(
        (t) =>
          t.log_type === 'GCP.AuditLog' &&
          String((t.log.protoPayload as { methodName?: string })?.methodName ?? '').startsWith('io.k8s.'),
      );
      expect(gke.length).toBeGreaterThan(10);
      for (const t of gke) {
        const n = normalizeEvent(t.log);
        if (!('event' in n)) continue;
        expect(n.event.verb).not.toBe('');
      }
      const normalized = gke.map((t) => normalizeEvent(t.log, opts)).filter((n) => 'event' in n);
      expect(normalized.length).toBeGreaterThan(gke.length * 0.8);
    });

    it('EKS events with timestamps normalize as they are', () => {
      const eks = tests.filter(
        (t) => t.log_type === 'Amazon.EKS.Audit' && typeof t.log.stageTimestamp === 'string',
      );
      for (const t of eks) expect('event' in normalizeEvent(t.log)).toBe(true);
    });
  },
);
