// Builders of realistic audit events for the simulated cluster: the evolving objects (World), requests
// and the events the API server writes for them. background.ts draws the cluster's everyday traffic.
import { createHash } from 'node:crypto';
import type { AuditEvent, Level, ObjectReference } from '../core/event.js';
import { microsToTime } from '../core/time.js';
import type { Random } from './random.js';

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
  const receivedAt = microsToTime(atUs);
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
  const complete = make('ResponseComplete', microsToTime(atUs + r.latencyUs));
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
