import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { eventLatencyMs, microsToTime, timeToMicros } from '../core/time.js';
import { FIELDS, getField, resolveField, suggestField } from './catalog.js';
import { fieldValues } from './values.js';

const record: EventRecord = {
  cluster: 'prod',
  event: {
    level: 'RequestResponse',
    auditID: 'a1',
    stage: 'ResponseComplete',
    requestURI: '/api/v1/namespaces/web/pods',
    verb: 'create',
    user: { username: 'alice', groups: ['devs', 'system:authenticated'] },
    sourceIPs: ['10.0.0.1', '10.0.0.2'],
    objectRef: { resource: 'pods', namespace: 'web', name: 'p1', apiVersion: 'v1' },
    responseStatus: { code: 201 },
    requestObject: {
      spec: {
        containers: [
          {
            name: 'a',
            securityContext: { privileged: true },
            ports: [{ containerPort: 80 }, { containerPort: 443 }],
          },
          { name: 'b' },
        ],
      },
    },
    requestReceivedTimestamp: '2024-05-01T10:00:00.000100Z',
    stageTimestamp: '2024-05-01T10:00:00.250300Z',
    annotations: { 'authorization.k8s.io/decision': 'allow' },
  },
};

describe('field catalog', () => {
  it('has unique names and aliases', () => {
    const names = FIELDS.flatMap((f) => [f.name, ...f.aliases].map((n) => n.toLowerCase()));
    expect(new Set(names).size).toBe(names.length);
  });

  it('holds every field the query language promises', () => {
    for (const n of [
      'user',
      'group',
      'verb',
      'ns',
      'resource',
      'subresource',
      'name',
      'apigroup',
      'apiversion',
      'code',
      'reason',
      'ip',
      'ua',
      'stage',
      'level',
      'auditid',
      'uri',
      'decision',
      'cluster',
      'impersonated',
      'time',
      'latency',
    ]) {
      expect(getField(n), n).toBeDefined();
    }
  });

  it('resolves annotations and JSON paths', () => {
    expect(resolveField('annotations.authorization.k8s.io/decision')).toEqual({
      kind: 'annotation',
      key: 'authorization.k8s.io/decision',
    });
    expect(resolveField('requestObject.spec.containers.image')).toEqual({
      kind: 'json',
      path: ['requestObject', 'spec', 'containers', 'image'],
    });
    expect(resolveField('requestObject.')).toBeUndefined();
    expect(resolveField('nosuchfield')).toBeUndefined();
  });

  it('suggests close names', () => {
    expect(suggestField('usr')).toBe('user');
    expect(suggestField('namespce')).toBe('ns');
    expect(suggestField('requestObjet.spec')).toBe('requestObject.spec');
    expect(suggestField('zzzzzzzzzzzz')).toBeUndefined();
  });

  it('keeps microsecond precision of timestamps', () => {
    const us = timeToMicros('2024-05-01T10:00:00.123456Z')!;
    expect(us % 1_000_000).toBe(123456);
    expect(microsToTime(us)).toBe('2024-05-01T10:00:00.123456Z');
    expect(timeToMicros('2024-05-01T12:00:00.5+02:00')).toBe(timeToMicros('2024-05-01T10:00:00.500Z'));
    expect(timeToMicros('not a time')).toBeUndefined();
    expect(eventLatencyMs(record.event)).toBeCloseTo(250.2, 6);
  });

  it('reads values, crossing arrays in JSON paths', () => {
    expect(fieldValues(record, 'group')).toEqual(['devs', 'system:authenticated']);
    expect(fieldValues(record, 'code')).toEqual([201]);
    expect(fieldValues(record, 'cluster')).toEqual(['prod']);
    expect(fieldValues(record, 'requestObject.spec.containers.securityContext.privileged')).toEqual([true]);
    expect(fieldValues(record, 'requestObject.spec.containers.ports.containerPort')).toEqual([80, 443]);
    expect(fieldValues(record, 'annotations.authorization.k8s.io/decision')).toEqual(['allow']);
    expect(fieldValues(record, 'impersonated')).toEqual([]);
    expect(fieldValues(record, 'unknown')).toEqual([]);
  });
});
