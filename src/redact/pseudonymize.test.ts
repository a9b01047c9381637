// Tests of pseudonymization: stable keyed pseudonyms for users, e-mails and IPs; system identities and
// private addresses kept; the same person gets the same pseudonym everywhere in an event and across events.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED_ANNOTATION } from '../core/event.js';
import { makeEvent } from '../test-support/events.js';
import { compileRedactConfig } from './config.js';
import { DEFAULT_KEEP_USERS, Pseudonymizer } from './pseudonymize.js';
import { Redactor } from './redactor.js';

const key = Buffer.from('pseudonym-test-key-0123456789abcdef');
const opts = {
  users: true,
  emails: true,
  sourceIPs: true,
  keepUsers: DEFAULT_KEEP_USERS,
  keepPrivateIPs: true,
  keepEmailDomains: true,
};

describe('Pseudonymizer', () => {
  const pz = new Pseudonymizer(key, opts);

  it('is stable, keyed and keeps the shape of what it replaces', () => {
    expect(pz.user('alice')).toMatch(/^u-[0-9a-f]{12}$/);
    expect(pz.user('alice')).toBe(pz.user('alice'));
    expect(pz.user('alice')).not.toBe(
      new Pseudonymizer(Buffer.from('another-key-0123456789'), opts).user('alice'),
    );
    expect(pz.user('alice@example.com')).toMatch(/^u-[0-9a-f]{12}@example\.com$/);
    expect(pz.email('Alice@Example.com'.toLowerCase())).toBe(pz.user('alice@example.com'));
    expect(pz.ip('203.0.113.7')).toMatch(/^240\.\d+\.\d+\.\d+$/);
    expect(pz.ip('2001:4860::8888')).toMatch(/^2001:db8:/);
  });

  it('keeps system identities, private addresses and its own output', () => {
    for (const u of [
      'system:serviceaccount:a:b',
      'system:node:n1',
      'eks:addon-manager',
      'x@p.iam.gserviceaccount.com',
      '',
    ])
      expect(pz.user(u)).toBe(u);
    for (const ip of ['10.1.2.3', '192.168.0.1', '172.20.0.1', '127.0.0.1', '::1', 'fd00::1'])
      expect(pz.ip(ip)).toBe(ip);
    const p = pz.user('bob');
    expect(pz.user(p)).toBe(p);
    const ip = pz.ip('8.8.8.8');
    expect(pz.ip(ip)).toBe(ip);
  });

  it('never returns the input for a personal name or public address', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9.]{2,12}$/), fc.ipV4(), (name, ip) => {
        expect(pz.user(name)).not.toBe(name);
        const isPrivate =
          /^(10|127|0)\.|^192\.168\.|^172\.(1[6-9]|2\d|3[01])\.|^169\.254\.|^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.|^240\./.test(
            ip,
          );
        if (!isPrivate) expect(pz.ip(ip)).not.toBe(ip);
      }),
    );
  });
});

describe('pseudonymization in events', () => {
  const redactor = new Redactor(
    compileRedactConfig(
      { pseudonymize: { users: true, emails: true, sourceIPs: true } },
      { KUBETRAIL_REDACT_KEY: key.toString() },
    ),
  );

  it('replaces the person everywhere in the event, consistently', () => {
    const e = makeEvent({
      user: { username: 'alice@example.com', uid: 'abc-123', groups: ['devs'] },
      impersonatedUser: { username: 'bob' },
      sourceIPs: ['203.0.113.9', '10.0.0.5'],
      responseStatus: { code: 403, message: 'pods is forbidden: User "bob" cannot list resource "pods"' },
      annotations: { 'authorization.k8s.io/reason': 'RBAC: allowed to User "alice@example.com"' },
      requestObject: {
        kind: 'RoleBinding',
        subjects: [
          { kind: 'User', name: 'bob' },
          { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
        ],
      },
    });
    const findings = redactor.redact(e);
    const json = JSON.stringify(e);
    for (const s of ['alice@example.com', '"bob"', '203.0.113.9', 'abc-123']) expect(json).not.toContain(s);
    expect(json).toContain('10.0.0.5');
    expect(json).toContain('builder');
    const alice = e.user.username!;
    expect(alice).toMatch(/^u-[0-9a-f]{12}@example\.com$/);
    expect(e.annotations!['authorization.k8s.io/reason']).toContain(alice);
    const bob = e.impersonatedUser!.username!;
    expect(e.responseStatus!.message).toContain(`"${bob}"`);
    expect((e.requestObject as { subjects: { name: string }[] }).subjects[0]!.name).toBe(bob);
    expect(findings.every((f) => f.rule === 'pseudonym')).toBe(true);
    expect(JSON.parse(e.annotations![REDACTED_ANNOTATION]!)).toContain('user.username');
    const again = makeEvent({ user: { username: 'alice@example.com' } });
    redactor.redact(again);
    expect(again.user.username).toBe(alice);
  });

  it('leaves system users and private addresses alone', () => {
    const e = makeEvent({
      user: { username: 'system:serviceaccount:kube-system:x' },
      sourceIPs: ['10.0.0.1'],
    });
    const before = JSON.stringify(e);
    expect(redactor.redact(e)).toEqual([]);
    expect(JSON.stringify(e)).toBe(before);
  });
});
