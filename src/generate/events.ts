// Builders of realistic audit events for the simulated cluster (see cluster.ts for who does what).
import { createHash } from 'node:crypto';
import type { AuditEvent, Level, ObjectReference } from '../core/event.js';
import {
  APPS,
  CONTROLLERS,
  KUBECTL_UA,
  KUBECTL_UA_MAC,
  KUBELET_UA,
  NODE_IPS,
  NODES,
  PEOPLE,
  TEAM_NAMESPACES,
  CI_SA,
} from './cluster.js';
import type { Random } from './random.js';

/** RFC 3339 with microseconds, as the API server writes timestamps. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  return `${new Date(ms).toISOString().slice(0, 19)}.${String(Math.floor(us % 1_000_000)).padStart(6, '0')}Z`;
}

/** A UUID (version 4 layout) derived from a text: the same text always gives the same UUID. */
export function stableUuid(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface DeploymentState {
  uid: string;
  creationTimestamp: string;
  generation: number;
  resourceVersion: number;
  replicas: number;
  image: string;
}

/**
 * The simulated cluster's objects as they evolve: each deployment keeps its uid and creation time, its
 * generation goes up by one with each change of its spec, and resource versions only go up (one counter
 * for the cluster, as etcd's revision). Also the clock of the request being generated.
 */
export class World {
  /** Time of the request being generated, epoch µs. */
  nowUs: number;
  private revision = 4_200_000;
  private readonly deployments = new Map<string, DeploymentState>();

  constructor(readonly startMs: number) {
    this.nowUs = startMs * 1000;
  }

  private deploymentState(namespace: string, name: string): DeploymentState {
    const key = `${namespace}/${name}`;
    let d = this.deployments.get(key);
    if (!d) {
      const seed = parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16);
      d = {
        uid: stableUuid(`deployment/${key}`),
        // Created 30 to 330 days before the period starts.
        creationTimestamp: new Date(this.startMs - (30 + (seed % 300)) * 86_400_000 - (seed % 86_400) * 1000)
          .toISOString()
          .replace(/\.\d{3}Z$/, 'Z'),
        generation: 1 + (seed % 40),
        resourceVersion: this.revision - 1000 + (seed % 1000),
        replicas: 1 + (seed % 4),
        image: `registry.example.com/${name}:1.${seed % 40}.0`,
      };
      this.deployments.set(key, d);
    }
    return d;
  }

  /**
   * Applies a patch to a deployment (`step` moves the cluster's revision on, 1 or more) and returns the
   * object as the API server answers it. A patch that changes nothing writes nothing.
   */
  patchDeployment(
    namespace: string,
    name: string,
    change: { replicas?: number; image?: string },
    step: number,
  ): Record<string, unknown> {
    const d = this.deploymentState(namespace, name);
    const replicas = change.replicas ?? d.replicas;
    const image = change.image ?? d.image;
    if (replicas !== d.replicas || image !== d.image) {
      d.replicas = replicas;
      d.image = image;
      d.generation++;
      this.revision += Math.max(1, step);
      d.resourceVersion = this.revision;
    }
    return deployment(name, namespace, d);
  }
}

export interface Req {
  user: string;
  groups: string[];
  ip: string;
  ua: string;
  verb: string;
  ref?: ObjectReference;
  uri: string;
  code: number;
  level: Level;
  requestObject?: unknown;
  responseObject?: unknown;
  latencyUs: number;
  impersonated?: string;
  reason?: string;
  message?: string;
}

function apiPath(ref: ObjectReference): string {
  const gv = ref.apiGroup
    ? `/apis/${ref.apiGroup}/${ref.apiVersion ?? 'v1'}`
    : `/api/${ref.apiVersion ?? 'v1'}`;
  const ns = ref.namespace ? `/namespaces/${ref.namespace}` : '';
  return `${gv}${ns}/${ref.resource}${ref.name ? `/${ref.name}` : ''}${ref.subresource ? `/${ref.subresource}` : ''}`;
}

export function ref(
  resource: string,
  namespace: string | undefined,
  name: string | undefined,
  group = '',
  version = 'v1',
  subresource?: string,
): ObjectReference {
  const r: ObjectReference = { resource, apiVersion: version };
  if (namespace) r.namespace = namespace;
  if (name) r.name = name;
  if (group) r.apiGroup = group;
  if (subresource) r.subresource = subresource;
  return r;
}

export function req(partial: Omit<Req, 'uri'> & { uri?: string; query?: string }): Req {
  const uri =
    partial.uri ?? (partial.ref ? apiPath(partial.ref) + (partial.query ? `?${partial.query}` : '') : '/');
  return { ...partial, uri };
}

const ADMIN_REASON =
  'RBAC: allowed by ClusterRoleBinding "platform-admins" of ClusterRole "cluster-admin" to Group "oidc:platform-admins"';
const SA_REASON =
  'RBAC: allowed by ClusterRoleBinding "system:controller" of ClusterRole "system:controller" to ServiceAccount';
const DEV_REASON =
  'RBAC: allowed by RoleBinding "developers/team" of ClusterRole "edit" to Group "oidc:devs"';

function allowReason(r: Req): string {
  const g = r.groups;
  if (g.includes('oidc:platform-admins')) return ADMIN_REASON;
  if (g.includes('oidc:devs')) return DEV_REASON;
  if (g.includes('system:serviceaccounts')) return `${SA_REASON} "${r.user}"`;
  return '';
}

/** The stages of one request: ResponseComplete, preceded by RequestReceived when `received`. */
export function toEvents(
  r: Req,
  atUs: number,
  rnd: Random,
  received: boolean,
  auditID?: string,
): AuditEvent[] {
  const drawn = rnd.uuid();
  const id = auditID ?? drawn;
  const forbidden = r.code === 403;
  const receivedAt = isoMicros(atUs);
  const make = (stage: 'RequestReceived' | 'ResponseComplete', at: string): AuditEvent => {
    const e: AuditEvent = {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: r.level,
      auditID: id,
      stage,
      requestURI: r.uri,
      verb: r.verb,
      user: { username: r.user, groups: r.groups },
      sourceIPs: [r.ip],
      userAgent: r.ua,
      requestReceivedTimestamp: receivedAt,
      stageTimestamp: at,
    };
    if (r.impersonated) e.impersonatedUser = { username: r.impersonated, groups: ['system:authenticated'] };
    if (r.ref) e.objectRef = r.ref;
    return e;
  };
  const complete = make('ResponseComplete', isoMicros(atUs + r.latencyUs));
  complete.responseStatus =
    r.code >= 400
      ? {
          metadata: {},
          status: 'Failure',
          message: r.message ?? '',
          reason: r.reason ?? (forbidden ? 'Forbidden' : r.code === 404 ? 'NotFound' : 'Conflict'),
          code: r.code,
        }
      : { metadata: {}, code: r.code };
  if (r.level !== 'Metadata' && r.requestObject !== undefined) complete.requestObject = r.requestObject;
  if (r.level === 'RequestResponse' && r.responseObject !== undefined)
    complete.responseObject = r.responseObject;
  complete.annotations = {
    'authorization.k8s.io/decision': forbidden ? 'forbid' : 'allow',
    'authorization.k8s.io/reason': forbidden ? '' : allowReason(r),
  };
  return received ? [make('RequestReceived', receivedAt), complete] : [complete];
}

export function podSpec(
  name: string,
  namespace: string,
  image: string,
  rnd: Random,
  extra: Record<string, unknown> = {},
) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace, labels: { app: name.split('-')[0] }, uid: rnd.uuid() },
    spec: {
      containers: [
        {
          name: 'app',
          image,
          ports: [{ containerPort: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: '100m', memory: '128Mi' } },
          securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
        },
      ],
      serviceAccountName: 'default',
      ...extra,
    },
  };
}

function deployment(name: string, namespace: string, d: DeploymentState) {
  const { replicas, image } = d;
  return {
    kind: 'Deployment',
    apiVersion: 'apps/v1',
    metadata: {
      name,
      namespace,
      uid: d.uid,
      resourceVersion: String(d.resourceVersion),
      generation: d.generation,
      creationTimestamp: d.creationTimestamp,
      labels: { app: name },
    },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name, image, ports: [{ containerPort: 8080 }], resources: { limits: { memory: '256Mi' } } },
          ],
        },
      },
    },
  };
}

/** A 409 answer's body: the API server's Status. */
function conflict(resource: string, name: string): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    reason: 'Conflict',
    details: { name, kind: resource },
    code: 409,
  };
}

/** One "normal" request at `world.nowUs`, drawn from the cluster's background traffic mix. */
export function backgroundRequest(rnd: Random, world: World): Req {
  const x = rnd.next();
  const node = rnd.int(0, NODES.length - 1);
  const nodeUser = `system:node:${NODES[node]}`;
  const nodeGroups = ['system:nodes', 'system:authenticated'];
  if (x < 0.3) {
    return req({
      user: nodeUser,
      groups: nodeGroups,
      ip: NODE_IPS[node]!,
      ua: KUBELET_UA,
      verb: 'update',
      ref: ref('leases', 'kube-node-lease', NODES[node], 'coordination.k8s.io'),
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(1500, 6000),
    });
  }
  if (x < 0.42) {
    const c = rnd.pick(CONTROLLERS);
    const verb = rnd.pick(['get', 'list', 'update', 'watch']);
    const resource = rnd.pick(['pods', 'replicasets', 'endpointslices', 'deployments']);
    const group = resource === 'endpointslices' ? 'discovery.k8s.io' : resource === 'pods' ? '' : 'apps';
    const ns = rnd.pick(TEAM_NAMESPACES);
    const name = verb === 'list' || verb === 'watch' ? undefined : `${rnd.pick(APPS)}-${rnd.hex(5)}`;
    return req({
      user: `system:serviceaccount:kube-system:${c}`,
      groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
      ip: '10.0.0.11',
      ua: `kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/${c}`,
      verb,
      ref: ref(resource, ns, name, group, 'v1'),
      code: 200,
      level: 'Metadata',
      latencyUs: verb === 'watch' ? rnd.int(30_000_000, 60_000_000) : rnd.int(800, 5000),
      ...(verb === 'list' ? { query: 'limit=500&resourceVersion=0' } : {}),
    });
  }
  if (x < 0.5) {
    return req({
      user: 'system:kube-controller-manager',
      groups: ['system:authenticated'],
      ip: '10.0.0.11',
      ua: 'kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election',
      verb: rnd.pick(['get', 'update']),
      ref: ref(
        'leases',
        'kube-system',
        rnd.pick(['kube-controller-manager', 'kube-scheduler']),
        'coordination.k8s.io',
      ),
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(1000, 4000),
    });
  }
  if (x < 0.58) {
    const path = rnd.pick(['/healthz', '/livez', '/readyz']);
    return req({
      user: 'system:anonymous',
      groups: ['system:unauthenticated'],
      ip: '10.0.0.1',
      ua: 'kube-probe/1.31',
      verb: 'get',
      uri: path,
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(200, 1200),
    });
  }
  if (x < 0.64) {
    const ns = rnd.pick(TEAM_NAMESPACES);
    const obj = `${rnd.pick(APPS)}-${rnd.hex(8)}.${rnd.hex(12)}`;
    return req({
      user: nodeUser,
      groups: nodeGroups,
      ip: NODE_IPS[node]!,
      ua: KUBELET_UA,
      verb: 'create',
      ref: ref('events', ns, obj, '', 'v1'),
      code: 201,
      level: 'Metadata',
      latencyUs: rnd.int(1500, 5000),
    });
  }
  if (x < 0.7) {
    return req({
      user: nodeUser,
      groups: nodeGroups,
      ip: NODE_IPS[node]!,
      ua: KUBELET_UA,
      verb: 'patch',
      ref: ref('nodes', undefined, NODES[node], '', 'v1', 'status'),
      code: 200,
      level: 'Request',
      requestObject: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              lastHeartbeatTime: `${new Date(Math.floor(world.nowUs / 1000)).toISOString().slice(0, 19)}Z`,
            },
          ],
        },
      },
      latencyUs: rnd.int(3000, 9000),
    });
  }
  if (x < 0.75) {
    const ns = rnd.pick(TEAM_NAMESPACES);
    const kind = rnd.pick(['configmaps', 'secrets', 'pods']);
    return req({
      user: nodeUser,
      groups: nodeGroups,
      ip: NODE_IPS[node]!,
      ua: KUBELET_UA,
      verb: kind === 'pods' ? 'get' : 'watch',
      ref: ref(kind, ns, `${rnd.pick(APPS)}-config`),
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(800, 3000),
    });
  }
  if (x < 0.8) {
    const ip = `10.244.${rnd.int(0, 2)}.${rnd.int(2, 250)}`;
    return req({
      user: rnd.pick([
        'system:serviceaccount:kube-system:coredns',
        'system:serviceaccount:kube-system:kube-proxy',
      ]),
      groups: ['system:serviceaccounts', 'system:authenticated'],
      ip,
      ua: 'coredns/1.11.3 (linux/amd64)',
      verb: rnd.pick(['list', 'watch']),
      ref: ref(rnd.pick(['endpointslices', 'services', 'namespaces']), undefined, undefined, ''),
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(1000, 8000),
    });
  }
  if (x < 0.84) {
    const p = rnd.pick(PEOPLE);
    return req({
      user: p.user,
      groups: p.groups,
      ip: p.ip,
      ua: rnd.pick([KUBECTL_UA, KUBECTL_UA_MAC]),
      verb: 'get',
      uri: rnd.pick(['/api', '/apis', '/version', '/openapi/v3']),
      code: 200,
      level: 'Metadata',
      latencyUs: rnd.int(500, 4000),
    });
  }
  if (x < 0.93) {
    const p = rnd.pick(PEOPLE);
    const ns = rnd.pick(TEAM_NAMESPACES);
    const app = rnd.pick(APPS);
    const y = rnd.next();
    if (y < 0.45)
      return req({
        user: p.user,
        groups: p.groups,
        ip: p.ip,
        ua: KUBECTL_UA,
        verb: 'list',
        ref: ref(rnd.pick(['pods', 'services', 'deployments']), ns, undefined, ''),
        query: 'limit=500',
        code: 200,
        level: 'Metadata',
        latencyUs: rnd.int(2000, 20000),
      });
    if (y < 0.7)
      return req({
        user: p.user,
        groups: p.groups,
        ip: p.ip,
        ua: KUBECTL_UA,
        verb: 'get',
        ref: ref('pods', ns, `${app}-${rnd.hex(9)}-${rnd.hex(5)}`, '', 'v1', 'log'),
        code: 200,
        level: 'Metadata',
        latencyUs: rnd.int(5000, 90000),
      });
    if (y < 0.8)
      return req({
        user: p.user,
        groups: p.groups,
        ip: p.ip,
        ua: KUBECTL_UA,
        verb: 'get',
        ref: ref('deployments', ns, app, 'apps'),
        code: rnd.chance(0.1) ? 404 : 200,
        level: 'Metadata',
        latencyUs: rnd.int(1000, 6000),
      });
    const step = rnd.int(100_000, 9_999_999) % 500;
    const replicas = rnd.int(1, 6);
    const code = rnd.chance(0.03) ? 409 : 200;
    // Drawn to keep the generator's sequence (and so the demo) as it was; the patch sets replicas only.
    rnd.int(0, 40);
    rnd.int(0, 9);
    return req({
      user: p.user,
      groups: p.groups,
      ip: p.ip,
      ua: KUBECTL_UA,
      verb: 'patch',
      ref: ref('deployments', ns, app, 'apps'),
      query: 'fieldManager=kubectl-client-side-apply',
      code,
      level: 'RequestResponse',
      requestObject: { spec: { replicas } },
      responseObject:
        code === 409 ? conflict('deployments.apps', app) : world.patchDeployment(ns, app, { replicas }, step),
      latencyUs: rnd.int(5000, 25000),
    });
  }
  if (x < 0.97) {
    const ns = rnd.pick(TEAM_NAMESPACES);
    const app = rnd.pick(APPS);
    const name = `${app}-${rnd.hex(9)}-${rnd.hex(5)}`;
    return req({
      user: 'system:serviceaccount:kube-system:replicaset-controller',
      groups: ['system:serviceaccounts', 'system:authenticated'],
      ip: '10.0.0.11',
      ua: 'kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/system:serviceaccount:kube-system:replicaset-controller',
      verb: 'create',
      ref: ref('pods', ns, name),
      code: 201,
      level: 'RequestResponse',
      requestObject: podSpec(name, ns, `registry.example.com/${app}:1.${rnd.int(0, 40)}.0`, rnd),
      latencyUs: rnd.int(4000, 20000),
    });
  }
  // CI deploys: patches deployments, creates configmaps, updates an application secret.
  const ns = rnd.pick(TEAM_NAMESPACES);
  const app = rnd.pick(APPS);
  const ip = `10.244.3.${rnd.int(10, 60)}`;
  const ciGroups = ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'];
  const y = rnd.next();
  if (y < 0.5) {
    const step = rnd.int(100_000, 9_999_999) % 500;
    const image = `registry.example.com/${app}:1.${rnd.int(0, 40)}.${rnd.int(0, 9)}`;
    return req({
      user: CI_SA,
      groups: ciGroups,
      ip,
      ua: 'argocd-application-controller/v2.12.3',
      verb: 'patch',
      ref: ref('deployments', ns, app, 'apps'),
      code: 200,
      level: 'RequestResponse',
      requestObject: { spec: { template: { spec: { containers: [{ name: app, image }] } } } },
      responseObject: world.patchDeployment(ns, app, { image }, step),
      latencyUs: rnd.int(5000, 30000),
    });
  }
  if (y < 0.85) {
    const name = `${app}-config-${rnd.hex(6)}`;
    return req({
      user: CI_SA,
      groups: ciGroups,
      ip,
      ua: 'argocd-application-controller/v2.12.3',
      verb: 'create',
      ref: ref('configmaps', ns, name),
      code: 201,
      level: 'RequestResponse',
      requestObject: {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { name, namespace: ns },
        data: { LOG_LEVEL: rnd.pick(['info', 'debug']), FEATURE_FLAGS: 'search,checkout' },
      },
      latencyUs: rnd.int(3000, 12000),
    });
  }
  return req({
    user: CI_SA,
    groups: ciGroups,
    ip,
    ua: 'argocd-application-controller/v2.12.3',
    verb: 'update',
    ref: ref('secrets', ns, `${app}-db`),
    code: 200,
    level: 'RequestResponse',
    requestObject: {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { name: `${app}-db`, namespace: ns },
      type: 'Opaque',
      data: {
        username: Buffer.from(`${app}_svc`).toString('base64'),
        password: Buffer.from(`pw-${rnd.hex(20)}`).toString('base64'),
      },
    },
    latencyUs: rnd.int(3000, 12000),
  });
}
