// Requests from audit events: outcome (decision annotation first, then status), names as the authorizer
// sees them, non-resource paths, impersonation (attributed to the impersonated user; the real user's
// impersonate requests), the tally (one count per watch logged twice, the range).
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../test-support/events.js';
import { impersonationRequests, outcomeOf, requestOf, RequestTally } from './requests.js';

describe('outcomeOf', () => {
  it.each([
    [{ annotations: { 'authorization.k8s.io/decision': 'allow' }, responseStatus: { code: 404 } }, 'allowed'],
    [{ annotations: { 'authorization.k8s.io/decision': 'forbid' }, responseStatus: { code: 200 } }, 'denied'],
    [{ annotations: {}, responseStatus: { code: 403 } }, 'denied'],
    [{ annotations: {}, responseStatus: { code: 401 } }, 'unauthenticated'],
    [{ annotations: {}, responseStatus: { code: 500 } }, 'allowed'],
    [{ annotations: {}, responseStatus: undefined, stage: 'RequestReceived' as const }, undefined],
  ])('%j → %s', (o, expected) => {
    expect(outcomeOf(makeEvent(o))).toBe(expected);
  });
});

describe('requestOf', () => {
  const who = { username: 'alice', groups: ['devs'] };
  it('names only what the authorizer sees', () => {
    const r = (verb: string, subresource?: string) =>
      requestOf(
        makeEvent({
          verb,
          objectRef: {
            resource: 'pods',
            namespace: 'd',
            name: 'web',
            apiVersion: 'v1',
            ...(subresource ? { subresource } : {}),
          },
        }),
        who,
      );
    expect(r('get').name).toBe('web');
    expect(r('create').name).toBeUndefined();
    expect(r('create', 'exec')).toMatchObject({ name: 'web', subresource: 'exec', apiGroup: '' });
    expect(r('list').name).toBeUndefined();
    expect(r('watch').name).toBeUndefined();
    expect(r('deletecollection').name).toBeUndefined();
  });

  it('reads the group from apiGroup, or from an old group/version apiVersion', () => {
    expect(
      requestOf(
        makeEvent({ objectRef: { resource: 'deployments', apiGroup: 'apps', apiVersion: 'v1' } }),
        who,
      ).apiGroup,
    ).toBe('apps');
    expect(
      requestOf(makeEvent({ objectRef: { resource: 'deployments', apiVersion: 'apps/v1beta1' } }), who)
        .apiGroup,
    ).toBe('apps');
  });

  it('a request without objectRef is a non-resource path, query left out', () => {
    const e = makeEvent({ requestURI: '/healthz/etcd?verbose=1' });
    delete e.objectRef;
    expect(requestOf(e, who)).toEqual({
      user: 'alice',
      groups: ['devs'],
      verb: 'get',
      nonResourceURL: '/healthz/etcd',
    });
  });

  it('gives a service account its groups', () => {
    expect(requestOf(makeEvent(), { username: 'system:serviceaccount:ns1:sa1' }).groups).toEqual([
      'system:serviceaccounts',
      'system:serviceaccounts:ns1',
    ]);
  });
});

describe('impersonation', () => {
  const admin = { username: 'admin', groups: ['system:masters'] };
  it('needs impersonate on the user, its groups (not those the server adds), uid and extras', () => {
    const rs = impersonationRequests(admin, {
      username: 'bob',
      groups: ['devs', 'system:authenticated'],
      uid: 'u-1',
      extra: { scopes: ['view'] },
    });
    expect(rs.map((r) => [r.apiGroup, r.resource, r.subresource ?? '', r.namespace ?? '', r.name])).toEqual([
      ['', 'users', '', '', 'bob'],
      ['', 'groups', '', '', 'devs'],
      ['authentication.k8s.io', 'uids', '', '', 'u-1'],
      ['authentication.k8s.io', 'userextras', 'scopes', '', 'view'],
    ]);
    expect(rs.every((r) => r.user === 'admin' && r.verb === 'impersonate')).toBe(true);
  });

  it('a service account is impersonated through serviceaccounts in its namespace', () => {
    const rs = impersonationRequests(admin, {
      username: 'system:serviceaccount:ns1:sa1',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1', 'system:authenticated'],
    });
    expect(rs).toEqual([
      {
        user: 'admin',
        groups: ['system:masters'],
        verb: 'impersonate',
        apiGroup: '',
        resource: 'serviceaccounts',
        namespace: 'ns1',
        name: 'sa1',
      },
    ]);
  });

  it('the tally attributes the request to the impersonated user and the impersonation to the real one', () => {
    const t = new RequestTally();
    t.add(
      makeEvent({
        user: admin,
        impersonatedUser: { username: 'bob' },
        responseStatus: { code: 403 },
        annotations: {},
      }),
    );
    const obs = t.observations();
    expect(obs.map((o) => [o.request.user, o.request.verb, o.outcome, Boolean(o.impersonation)])).toEqual([
      ['admin', 'impersonate', 'allowed', true],
      ['bob', 'get', 'denied', false],
    ]);
  });
});

describe('RequestTally', () => {
  it('counts a watch logged at ResponseStarted and ResponseComplete once, and keeps to the range', () => {
    const t = new RequestTally();
    const started = makeEvent({ auditID: 'w', stage: 'ResponseStarted', verb: 'watch' });
    t.add(started);
    t.add({ ...started, stage: 'ResponseComplete' });
    t.add(makeEvent({ stageTimestamp: '2030-01-01T00:00:00.000000Z' }), {
      until: Date.UTC(2029, 0, 1) * 1000,
    });
    expect(t.events).toBe(1);
    expect(t.observations().map((o) => [o.request.verb, o.count])).toEqual([['watch', 1]]);
  });
});
