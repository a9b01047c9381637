// Ready-made audit policies: `minimal` (every request at Metadata, the smallest useful policy),
// `recommended` (a production policy in the spirit of GKE's: noise dropped, credentials at Metadata,
// reads without responses, writes in full) and `cis` (meets the CIS Kubernetes Benchmark's audit
// guidance, sections 3.2.1 and 3.2.2). Each is built as data and rendered with comments.
import { BUILTIN_RESOURCES } from './api-groups.js';
import { renderPolicy, type CommentedRule, type PolicyDocument } from './render.js';
import type { GroupResources } from './types.js';

export const PRESET_NAMES = ['minimal', 'recommended', 'cis'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Secrets, ConfigMaps, TokenRequests and TokenReviews: their bodies hold credentials. */
export const CREDENTIAL_RESOURCES: GroupResources[] = [
  { group: '', resources: ['secrets', 'configmaps', 'serviceaccounts/token'] },
  { group: 'authentication.k8s.io', resources: ['tokenreviews'] },
];

export const HEALTH_URLS = ['/healthz*', '/livez*', '/readyz*'];
export const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/version', '/openapi*'];

const KNOWN_GROUPS: GroupResources[] = Object.keys(BUILTIN_RESOURCES).map((group) => ({ group }));

export const INTERACTIVE_RESOURCES: GroupResources[] = [
  {
    group: '',
    resources: [
      'pods/exec',
      'pods/attach',
      'pods/portforward',
      'pods/proxy',
      'services/proxy',
      'nodes/proxy',
    ],
  },
];

/** Rules that drop health checks and lease renewals: shared by the presets. */
export const NOISE_RULES: CommentedRule[] = [
  {
    comment: 'Health and readiness checks: very frequent, no audit value.',
    rule: { level: 'None', nonResourceURLs: HEALTH_URLS },
  },
  {
    comment: 'Lease renewals: node heartbeats every 10 s and control-plane leader election.',
    rule: {
      level: 'None',
      userGroups: ['system:nodes'],
      verbs: ['get', 'update', 'patch'],
      resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
    },
  },
  {
    rule: {
      level: 'None',
      users: ['system:kube-controller-manager', 'system:kube-scheduler', 'system:apiserver'],
      verbs: ['get', 'update'],
      resources: [{ group: 'coordination.k8s.io', resources: ['leases'] }],
    },
  },
];

function minimal(): PolicyDocument {
  return {
    header:
      'kubetrail preset: minimal.\nEvery request is logged with its metadata (who, what, when, from where, the answer), never a body.\nThe smallest useful policy; `kubetrail policy preset recommended` logs less noise and more detail.',
    rules: [{ rule: { level: 'Metadata' } }],
  };
}

function recommended(): PolicyDocument {
  return {
    header:
      'kubetrail preset: recommended (production, in the spirit of GKE’s policy).\n' +
      'Noise is dropped, credentials are logged without their bodies, reads without their responses, and\n' +
      'writes in full. RequestReceived is omitted (it doubles the volume and adds nothing the later stages\n' +
      'lack), and managed fields (server-side apply bookkeeping) are stripped from bodies.',
    omitStages: ['RequestReceived'],
    omitManagedFields: true,
    rules: [
      ...NOISE_RULES,
      {
        comment: 'API discovery by authenticated clients (kubectl asks on every invocation).',
        rule: { level: 'None', userGroups: ['system:authenticated'], nonResourceURLs: DISCOVERY_URLS },
      },
      {
        comment: 'kube-proxy watches services and endpoints all day.',
        rule: {
          level: 'None',
          users: ['system:kube-proxy'],
          verbs: ['watch'],
          resources: [
            { group: '', resources: ['endpoints', 'services', 'services/status'] },
            { group: 'discovery.k8s.io', resources: ['endpointslices'] },
          ],
        },
      },
      {
        comment: 'Nodes reading their own Node objects.',
        rule: {
          level: 'None',
          userGroups: ['system:nodes'],
          verbs: ['get'],
          resources: [{ group: '', resources: ['nodes', 'nodes/status'] }],
        },
      },
      {
        comment: 'Kubernetes Events: high volume, and they are their own record.',
        rule: {
          level: 'None',
          verbs: ['create', 'update', 'patch', 'get', 'list', 'watch'],
          resources: [
            { group: '', resources: ['events'] },
            { group: 'events.k8s.io', resources: ['events'] },
          ],
        },
      },
      {
        comment:
          'Secrets, ConfigMaps, TokenRequests and TokenReviews carry credentials in their bodies: metadata only.',
        rule: { level: 'Metadata', resources: CREDENTIAL_RESOURCES },
      },
      {
        comment: 'Node and pod status updates from nodes: frequent and large; the request is enough.',
        rule: {
          level: 'Request',
          userGroups: ['system:nodes'],
          verbs: ['update', 'patch'],
          resources: [{ group: '', resources: ['nodes/status', 'pods/status'] }],
        },
      },
      {
        comment: 'deletecollection responses can be huge lists.',
        rule: { level: 'Request', verbs: ['deletecollection'] },
      },
      {
        comment: 'Reads of built-in APIs: the request, not the (possibly large) response.',
        rule: { level: 'Request', verbs: ['get', 'list', 'watch'], resources: KNOWN_GROUPS },
      },
      {
        comment: 'Writes to built-in APIs: request and response.',
        rule: { level: 'RequestResponse', resources: KNOWN_GROUPS },
      },
      {
        comment: 'Everything else (custom resources, aggregated APIs, other URLs): metadata.',
        rule: { level: 'Metadata' },
      },
    ],
  };
}

function cis(): PolicyDocument {
  return {
    header:
      'kubetrail preset: cis (CIS Kubernetes Benchmark, 3.2.1 "a minimal audit policy is created" and\n' +
      '3.2.2 "the audit policy covers key security concerns").\n' +
      'Covers: access to Secrets (metadata only, as is ConfigMap and TokenReview access, so no sensitive\n' +
      'data is logged), modification of Pods and Deployments, and the use of pods/exec, pods/portforward,\n' +
      'pods/proxy and services/proxy; everything else at Metadata. Pair it with the API server flags of\n' +
      '`kubetrail setup apiserver` (1.2.x: --audit-log-path, --audit-log-maxage=30,\n' +
      '--audit-log-maxbackup=10, --audit-log-maxsize=100).',
    omitStages: ['RequestReceived'],
    rules: [
      ...NOISE_RULES,
      {
        comment:
          '3.2.2: Secrets, ConfigMaps, TokenRequests and TokenReviews at Metadata only (no sensitive data).',
        rule: { level: 'Metadata', resources: CREDENTIAL_RESOURCES },
      },
      {
        comment: '3.2.2: pods/exec, pods/portforward, pods/proxy, services/proxy (and attach, nodes/proxy).',
        rule: { level: 'Metadata', resources: INTERACTIVE_RESOURCES },
      },
      {
        comment:
          '3.2.2: modification of Pods and Deployments (and the other workload controllers), with the body.',
        rule: {
          level: 'RequestResponse',
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
          resources: [
            { group: '', resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'] },
            { group: 'apps', resources: ['deployments', 'daemonsets', 'statefulsets', 'replicasets'] },
            { group: 'batch', resources: ['jobs', 'cronjobs'] },
          ],
        },
      },
      {
        comment: 'Changes to RBAC, with the body.',
        rule: {
          level: 'RequestResponse',
          verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'],
          resources: [{ group: 'rbac.authorization.k8s.io' }],
        },
      },
      {
        comment: '3.2.1: every other request at Metadata.',
        rule: { level: 'Metadata' },
      },
    ],
  };
}

export function presetDocument(name: PresetName): PolicyDocument {
  switch (name) {
    case 'minimal':
      return minimal();
    case 'recommended':
      return recommended();
    case 'cis':
      return cis();
  }
}

export function presetYaml(name: PresetName): string {
  return renderPolicy(presetDocument(name));
}
