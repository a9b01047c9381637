// The simulated cluster's everyday traffic: one request at a time drawn from a weighted mix of node
// heartbeats, controllers, CI deployments, people using kubectl and the occasional failure (see
// cluster.ts for who does what, events.ts for how a request becomes events).
import {
  APPS,
  CI_SA,
  CONTROLLERS,
  KUBECTL_UA,
  KUBECTL_UA_MAC,
  KUBELET_UA,
  NODE_IPS,
  NODES,
  PEOPLE,
  TEAM_NAMESPACES,
} from './cluster.js';
import { podSpec, ref, req, type Req, type World } from './events.js';
import type { Random } from './random.js';

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
