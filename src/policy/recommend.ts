// Recommends an audit policy for the traffic actually seen: measures the high-volume, low-value traffic in
// the data (health checks, discovery, lease renewals, Kubernetes Events, system components' reads, node
// status heartbeats, duplicated RequestReceived stages) and drops or trims it, while keeping every write,
// the security-relevant reads (secrets at Metadata, RBAC, exec/attach/port-forward/proxy, token
// requests; impersonation is seen through the requests of the impersonating user, which stay logged) and
// never logging credential bodies. The result is measured by simulating it on the same data.
import type { EventRecord } from '../core/event.js';
import { attributesFromEvent } from './evaluate.js';
import type { CompiledNeed } from './needs.js';
import { CREDENTIAL_RESOURCES, DISCOVERY_URLS, HEALTH_URLS, INTERACTIVE_RESOURCES } from './presets.js';
import { policyOf, renderPolicy, type CommentedRule, type PolicyDocument } from './render.js';
import { eventBytes, simulate, type SimulationReport } from './simulate.js';
import type { RequestAttributes } from './types.js';

type Category =
  | 'health'
  | 'discovery'
  | 'nodeLeases'
  | 'controlPlaneLeases'
  | 'events'
  | 'nodeReads'
  | 'componentReads'
  | 'nodeStatus'
  | 'requestReceived';

interface Tally {
  events: number;
  bytes: number;
}

export interface Profile {
  events: number;
  bytes: number;
  categories: Record<Category, Tally>;
  /** Control-plane users seen renewing leases. */
  leaseUsers: string[];
  /** System components (other than nodes) seen reading. */
  readers: string[];
}

const READ_VERBS = ['get', 'list', 'watch'];
const HEALTH = /^\/(healthz|livez|readyz)(\/|$)/;
const DISCOVERY = /^\/(api|apis)(\/[^/]+){0,2}\/?$|^\/version\/?$|^\/openapi\//;
const CREDENTIAL = (a: RequestAttributes) =>
  (a.apiGroup === '' && (a.resource === 'secrets' || a.resource === 'configmaps')) ||
  (a.apiGroup === '' && a.resource === 'serviceaccounts' && a.subresource === 'token') ||
  (a.apiGroup === 'authentication.k8s.io' && a.resource === 'tokenreviews');
const INTERACTIVE = new Set(['exec', 'attach', 'portforward', 'proxy']);

function isNode(a: RequestAttributes): boolean {
  return !!a.user && a.user.groups.includes('system:nodes') && a.user.name.startsWith('system:node:');
}

/** Control-plane identities and kube-system service accounts (never people, never other namespaces). */
export function isSystemComponent(name: string): boolean {
  return (
    name === 'system:apiserver' ||
    name === 'system:kube-proxy' ||
    /^system:kube-[a-z-]+$/.test(name) ||
    name.startsWith('system:serviceaccount:kube-system:')
  );
}

function isDiscoveryPath(path: string): boolean {
  return DISCOVERY.test(path);
}

export async function profileEvents(
  source: AsyncIterable<EventRecord[]> | Iterable<EventRecord[]>,
): Promise<Profile> {
  const zero = (): Tally => ({ events: 0, bytes: 0 });
  const categories: Record<Category, Tally> = {
    health: zero(),
    discovery: zero(),
    nodeLeases: zero(),
    controlPlaneLeases: zero(),
    events: zero(),
    nodeReads: zero(),
    componentReads: zero(),
    nodeStatus: zero(),
    requestReceived: zero(),
  };
  const leaseUsers = new Set<string>();
  const readers = new Set<string>();
  let events = 0;
  let bytes = 0;
  for await (const batch of source) {
    for (const r of batch) {
      const e = r.event;
      const size = eventBytes(e);
      events++;
      bytes += size;
      const add = (c: Category) => {
        categories[c].events++;
        categories[c].bytes += size;
      };
      if (e.stage === 'RequestReceived') add('requestReceived');
      const a = attributesFromEvent(e);
      const user = a.user?.name ?? '';
      if (!a.resourceRequest) {
        if (HEALTH.test(a.path)) add('health');
        else if (a.user?.groups.includes('system:authenticated') && isDiscoveryPath(a.path)) add('discovery');
        continue;
      }
      if (
        a.apiGroup === 'coordination.k8s.io' &&
        a.resource === 'leases' &&
        ['get', 'update', 'patch'].includes(a.verb)
      ) {
        if (isNode(a)) {
          add('nodeLeases');
          continue;
        }
        if (isSystemComponent(user) && a.verb !== 'patch') {
          add('controlPlaneLeases');
          leaseUsers.add(user);
          continue;
        }
      }
      if (
        a.resource === 'events' &&
        (a.apiGroup === '' || a.apiGroup === 'events.k8s.io') &&
        a.verb !== 'delete' &&
        a.verb !== 'deletecollection'
      ) {
        add('events');
        continue;
      }
      if (CREDENTIAL(a) || INTERACTIVE.has(a.subresource) || a.apiGroup === 'rbac.authorization.k8s.io')
        continue;
      if (READ_VERBS.includes(a.verb)) {
        if (isNode(a)) add('nodeReads');
        else if (isSystemComponent(user)) {
          add('componentReads');
          readers.add(user);
        }
        continue;
      }
      if (
        isNode(a) &&
        (a.verb === 'update' || a.verb === 'patch') &&
        a.apiGroup === '' &&
        a.subresource === 'status' &&
        (a.resource === 'nodes' || a.resource === 'pods')
      )
        add('nodeStatus');
    }
  }
  // The standard leader-election identities are always listed: they may simply have been quiet in the data.
  if (leaseUsers.size > 0)
    for (const u of ['system:kube-controller-manager', 'system:kube-scheduler']) leaseUsers.add(u);
  return { events, bytes, categories, leaseUsers: [...leaseUsers].sort(), readers: [...readers].sort() };
}

function share(t: Tally, p: Profile): string {
  const pct = (x: number, total: number) => (total > 0 ? `${((x / total) * 100).toFixed(1)}%` : '0%');
  return `found ${t.events.toLocaleString('en-US')} events (${pct(t.events, p.events)} of events, ${pct(t.bytes, p.bytes)} of bytes)`;
}

/** The recommended policy for a profile (rules for noise only where the noise was seen). */
export function recommendDocument(p: Profile): PolicyDocument {
  const c = p.categories;
  const rules: CommentedRule[] = [];
  if (c.health.events > 0)
    rules.push({
      comment: `Health and readiness checks: ${share(c.health, p)}.`,
      rule: { level: 'None', nonResourceURLs: HEALTH_URLS },
    });
  if (c.discovery.events > 0)
    rules.push({
      comment: `API discovery by authenticated clients: ${share(c.discovery, p)}.`,
      rule: { level: 'None', userGroups: ['system:authenticated'], nonResourceURLs: DISCOVERY_URLS },
    });
  if (c.nodeLeases.events > 0)
    rules.push({
      comment: `Node heartbeats (lease renewals by kubelets): ${share(c.nodeLeases, p)}.`,
      rule: {
        level: 'None',
        userGroups: ['system:nodes'],
        verbs: ['get', 'update', 'patch'],
        resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
      },
    });
  if (c.controlPlaneLeases.events > 0)
    rules.push({
      comment: `Leader election of control-plane components: ${share(c.controlPlaneLeases, p)}.`,
      rule: {
        level: 'None',
        users: p.leaseUsers,
        verbs: ['get', 'update'],
        resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
      },
    });
  if (c.events.events > 0)
    rules.push({
      comment: `Kubernetes Events (their own record; deletions stay logged): ${share(c.events, p)}.`,
      rule: {
        level: 'None',
        verbs: ['create', 'update', 'patch', 'get', 'list', 'watch'],
        resources: [
          { group: '', resources: ['events'] },
          { group: 'events.k8s.io', resources: ['events'] },
        ],
      },
    });
  rules.push(
    {
      comment:
        'Secrets, ConfigMaps, TokenRequests and TokenReviews, by anyone: who touched them is logged, their\nbodies (credentials) never are.',
      rule: { level: 'Metadata', resources: CREDENTIAL_RESOURCES },
    },
    {
      comment: 'exec, attach, port-forward and proxy, by anyone: the request URI holds the command.',
      rule: { level: 'Metadata', resources: INTERACTIVE_RESOURCES },
    },
    {
      comment: 'RBAC changes, with the roles and subjects granted.',
      rule: {
        level: 'RequestResponse',
        verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
        resources: [{ group: 'rbac.authorization.k8s.io' }],
      },
    },
  );
  if (c.nodeReads.events > 0)
    rules.push({
      comment: `Kubelets reading what their pods need (secrets and configmaps stay logged above): ${share(c.nodeReads, p)}.`,
      rule: { level: 'None', userGroups: ['system:nodes'], verbs: READ_VERBS },
    });
  if (c.componentReads.events > 0)
    rules.push({
      comment: `Reads by control-plane components and kube-system service accounts seen in the data\n(secrets, configmaps, RBAC and exec stay logged above): ${share(c.componentReads, p)}.`,
      rule: { level: 'None', users: p.readers, verbs: READ_VERBS },
    });
  if (c.nodeStatus.events > 0)
    rules.push({
      comment: `Node and pod status heartbeats from kubelets: metadata, without the status body: ${share(c.nodeStatus, p)}.`,
      rule: {
        level: 'Metadata',
        userGroups: ['system:nodes'],
        verbs: ['update', 'patch'],
        resources: [{ group: '', resources: ['nodes/status', 'pods/status'] }],
      },
    });
  rules.push(
    {
      comment: 'deletecollection: what was asked, not the (possibly huge) list that was deleted.',
      rule: { level: 'Request', verbs: ['deletecollection'] },
    },
    {
      comment: 'Every other read: who read what, without the response.',
      rule: { level: 'Metadata', verbs: READ_VERBS },
    },
    {
      comment:
        'Every other write: the request body (what was asked: images, privileges, mounts, replicas);\nthe response repeats it with defaults.',
      rule: { level: 'Request', verbs: ['create', 'update', 'patch', 'delete'] },
    },
    {
      comment: 'Everything else (other verbs and URLs, failed authentication): metadata.',
      rule: { level: 'Metadata' },
    },
  );
  return {
    omitStages: ['RequestReceived'],
    omitManagedFields: true,
    rules,
  };
}

export interface Recommendation {
  yaml: string;
  document: PolicyDocument;
  profile: Profile;
  measured: SimulationReport;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/**
 * Profiles the data, writes the policy, and measures it by simulating it over the same data.
 * `source` is called twice (profile, then measurement).
 */
export async function recommend(
  source: () => AsyncIterable<EventRecord[]> | Iterable<EventRecord[]>,
  opts: { needs?: readonly CompiledNeed[]; describeSource?: string } = {},
): Promise<Recommendation> {
  const profile = await profileEvents(source());
  const document = recommendDocument(profile);
  const measured = await simulate(policyOf(document), source(), { needs: opts.needs ?? [] });
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    'Audit policy recommended by `kubetrail policy recommend` for the traffic it was shown.',
    `Measured on ${measured.before.events.toLocaleString('en-US')} events (${mb(measured.before.bytes)})${opts.describeSource ? ` from ${opts.describeSource}` : ''}:`,
    `  kept ${measured.after.events.toLocaleString('en-US')} events (${mb(measured.after.bytes)}): ${pct(measured.reduction.events)} fewer events, ${pct(measured.reduction.bytes)} fewer bytes.`,
  ];
  if (measured.perDay)
    lines.push(
      `  per day: ${mb(measured.perDay.before.bytes)} before, ${mb(measured.perDay.after.bytes)} after.`,
    );
  if ((opts.needs?.length ?? 0) > 0)
    lines.push(
      measured.lost === 0
        ? `  detection: all ${opts.needs!.length} detection filters still find every request they found before.`
        : `  detection: ${measured.lost} requests that detection filters need would be lost (see \`kubetrail policy simulate\`).`,
    );
  lines.push(
    'Rules are checked in order and the first match wins. Check it with `kubetrail policy lint`, and again',
    'with `kubetrail policy simulate` whenever the cluster’s traffic changes.',
  );
  document.header = lines.join('\n');
  return { yaml: renderPolicy(document), document, profile, measured };
}
