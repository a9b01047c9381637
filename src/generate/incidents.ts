// Security incidents woven into the demo day, each at a fixed time, each findable with a filter.
import type { AuditEvent } from '../core/event.js';
import { CI_SA, KUBECTL_UA, NAMESPACES } from './cluster.js';
import { podSpec, ref, req, stableUuid, toEvents, type Req } from './events.js';
import type { Random } from './random.js';

export interface Incident {
  id: string;
  title: string;
  description: string;
  /** A kubetrail filter that finds the incident's events (and nothing else in the demo day). */
  filter: string;
  /** Offset from the start of the day, ms (the day ends just before the demo is generated). */
  atMs: number;
  requests(rnd: Random): { offsetMs: number; req: Req }[];
}

const BOB = { user: 'bob@example.com', groups: ['oidc:devs', 'system:authenticated'], ip: '198.51.100.23' };
const CI_GROUPS = ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'];
const H = 3_600_000;
const M = 60_000;

export const DEMO_INCIDENTS: readonly Incident[] = [
  {
    id: 'leaked-token',
    title: 'CI token used from an unknown address',
    description: `The CI deployer's service-account token, normally used from in-cluster runners (10.244.3.0/24), is used with curl from 203.0.113.45 to list secrets and pods.`,
    filter: `user:${CI_SA} ip:203.0.113.45`,
    atMs: 3 * H + 17 * M,
    requests: () =>
      [
        ['list', ref('secrets', undefined, undefined), 200],
        ['list', ref('pods', undefined, undefined), 200],
        ['get', ref('secrets', 'payments', 'billing-db'), 200],
        ['list', ref('clusterrolebindings', undefined, undefined, 'rbac.authorization.k8s.io'), 403],
        ['get', ref('secrets', 'kube-system', 'bootstrap-token-abcdef'), 403],
      ].map(([verb, r, code], i) => ({
        offsetMs: i * 20_000,
        req: req({
          user: CI_SA,
          groups: CI_GROUPS,
          ip: '203.0.113.45',
          ua: 'curl/8.5.0',
          verb: verb as string,
          ref: r as never,
          code: code as number,
          level: 'Metadata',
          latencyUs: 4000,
        }),
      })),
  },
  {
    id: 'secrets-enumeration',
    title: 'Secrets listed across many namespaces',
    description: 'bob@example.com lists secrets in eight namespaces within three minutes.',
    filter: 'user:bob@example.com resource:secrets verb:list',
    atMs: 9 * H + 42 * M,
    requests: () =>
      NAMESPACES.slice(0, 8).map((ns, i) => ({
        offsetMs: i * 20_000,
        req: req({
          ...BOB,
          ua: KUBECTL_UA,
          verb: 'list',
          ref: ref('secrets', ns, undefined),
          query: 'limit=500',
          code: 200,
          level: 'Metadata',
          latencyUs: 9000,
        }),
      })),
  },
  {
    id: 'privileged-pod',
    title: 'Privileged pod with the host filesystem',
    description: 'bob@example.com creates a privileged pod on the host network with the node root mounted.',
    filter: 'requestObject.spec.containers.securityContext.privileged:true',
    atMs: 13 * H + 5 * M,
    requests: (rnd) => [
      {
        offsetMs: 0,
        req: req({
          ...BOB,
          ua: KUBECTL_UA,
          verb: 'create',
          ref: ref('pods', 'default', 'debug-tools'),
          code: 201,
          level: 'RequestResponse',
          requestObject: (() => {
            const p = podSpec('debug-tools', 'default', 'docker.io/library/alpine:3.20', rnd, {
              hostNetwork: true,
              hostPID: true,
              volumes: [{ name: 'host', hostPath: { path: '/' } }],
            });
            p.spec.containers[0]!.securityContext = { privileged: true } as never;
            (p.spec.containers[0] as Record<string, unknown>).volumeMounts = [
              { name: 'host', mountPath: '/host' },
            ];
            return p;
          })(),
          latencyUs: 15000,
        }),
      },
    ],
  },
  {
    id: 'pod-exec',
    title: 'Interactive exec into a pod',
    description: 'bob@example.com execs a shell in the debug pod.',
    filter: 'subresource:exec',
    atMs: 13 * H + 7 * M,
    requests: () => [
      {
        offsetMs: 0,
        req: req({
          ...BOB,
          ua: KUBECTL_UA,
          verb: 'create',
          ref: ref('pods', 'default', 'debug-tools', '', 'v1', 'exec'),
          query: 'command=sh&container=app&stdin=true&stdout=true&tty=true',
          code: 101,
          level: 'Metadata',
          latencyUs: 95_000_000,
        }),
      },
    ],
  },
  {
    id: 'forbidden-burst',
    title: 'Burst of forbidden requests',
    description: 'eve@example.com probes permissions: 36 requests answered 403 in three minutes.',
    filter: 'user:eve@example.com code:403',
    atMs: 16 * H + 20 * M,
    requests: (rnd) =>
      Array.from({ length: 36 }, (_, i) => {
        const resource = rnd.pick(['secrets', 'clusterroles', 'clusterrolebindings', 'nodes', 'pods']);
        const group = resource.startsWith('cluster') ? 'rbac.authorization.k8s.io' : '';
        const ns = resource === 'secrets' || resource === 'pods' ? rnd.pick(NAMESPACES) : undefined;
        return {
          offsetMs: i * 5_000,
          req: req({
            user: 'eve@example.com',
            groups: ['oidc:contractors', 'system:authenticated'],
            ip: '198.51.100.77',
            ua: KUBECTL_UA,
            verb: rnd.pick(['list', 'get', 'create']),
            ref: ref(resource, ns, undefined, group),
            code: 403,
            level: 'Metadata',
            latencyUs: 1500,
            message: `${resource} is forbidden: User "eve@example.com" cannot list resource "${resource}"`,
          }),
        };
      }),
  },
  {
    id: 'cluster-admin-binding',
    title: 'cluster-admin granted to a service account',
    description: 'The CI deployer binds cluster-admin to the default service account of the web namespace.',
    filter: 'resource:clusterrolebindings verb:create requestObject.roleRef.name:cluster-admin',
    atMs: 21 * H + 30 * M,
    requests: () => [
      {
        offsetMs: 0,
        req: req({
          user: CI_SA,
          groups: CI_GROUPS,
          ip: '10.244.3.17',
          ua: KUBECTL_UA,
          verb: 'create',
          ref: ref('clusterrolebindings', undefined, 'web-default-admin', 'rbac.authorization.k8s.io'),
          code: 201,
          level: 'RequestResponse',
          requestObject: {
            kind: 'ClusterRoleBinding',
            apiVersion: 'rbac.authorization.k8s.io/v1',
            metadata: { name: 'web-default-admin' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'web' }],
          },
          latencyUs: 8000,
        }),
      },
    ],
  },
];

/**
 * The auditID of an incident's request: derived from the seed, the incident and the request's index, so
 * that it stays the same whenever (and however large) the data set is generated.
 */
export function incidentAuditID(seed: number, incidentId: string, index: number): string {
  return stableUuid(`kubetrail-demo/${seed}/${incidentId}/${index}`);
}

/** The incidents' events, each request at its time (epoch µs offsets from `startMs`). */
export function incidentEvents(
  startMs: number,
  rnd: Random,
  seed: number,
): { atUs: number; events: AuditEvent[] }[] {
  const out: { atUs: number; events: AuditEvent[] }[] = [];
  for (const inc of DEMO_INCIDENTS) {
    for (const [i, r] of inc.requests(rnd).entries()) {
      const atUs = (startMs + inc.atMs + r.offsetMs) * 1000;
      out.push({ atUs, events: toEvents(r.req, atUs, rnd, false, incidentAuditID(seed, inc.id, i)) });
    }
  }
  return out.sort((a, b) => a.atUs - b.atUs);
}
