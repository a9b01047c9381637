// The API groups and resources a current kube-apiserver serves by itself (no CRDs), with the verbs it
// logs. Lint uses them to catch resources listed under the wrong group, groups that do not exist and
// verbs that never occur.

/** Built-in resources per API group ("" is the core group). Subresources are not listed. */
export const BUILTIN_RESOURCES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'bindings',
    'componentstatuses',
    'configmaps',
    'endpoints',
    'events',
    'limitranges',
    'namespaces',
    'nodes',
    'persistentvolumeclaims',
    'persistentvolumes',
    'pods',
    'podtemplates',
    'replicationcontrollers',
    'resourcequotas',
    'secrets',
    'serviceaccounts',
    'services',
  ],
  apps: ['controllerrevisions', 'daemonsets', 'deployments', 'replicasets', 'statefulsets'],
  batch: ['cronjobs', 'jobs'],
  autoscaling: ['horizontalpodautoscalers'],
  policy: ['poddisruptionbudgets'],
  'rbac.authorization.k8s.io': ['clusterrolebindings', 'clusterroles', 'rolebindings', 'roles'],
  'networking.k8s.io': ['ingressclasses', 'ingresses', 'ipaddresses', 'networkpolicies', 'servicecidrs'],
  'storage.k8s.io': [
    'csidrivers',
    'csinodes',
    'csistoragecapacities',
    'storageclasses',
    'volumeattachments',
    'volumeattributesclasses',
  ],
  'coordination.k8s.io': ['leasecandidates', 'leases'],
  'discovery.k8s.io': ['endpointslices'],
  'events.k8s.io': ['events'],
  'certificates.k8s.io': ['certificatesigningrequests', 'clustertrustbundles'],
  'authentication.k8s.io': ['selfsubjectreviews', 'tokenreviews'],
  'authorization.k8s.io': [
    'localsubjectaccessreviews',
    'selfsubjectaccessreviews',
    'selfsubjectrulesreviews',
    'subjectaccessreviews',
  ],
  'admissionregistration.k8s.io': [
    'mutatingadmissionpolicies',
    'mutatingadmissionpolicybindings',
    'mutatingwebhookconfigurations',
    'validatingadmissionpolicies',
    'validatingadmissionpolicybindings',
    'validatingwebhookconfigurations',
  ],
  'apiextensions.k8s.io': ['customresourcedefinitions'],
  'apiregistration.k8s.io': ['apiservices'],
  'scheduling.k8s.io': ['priorityclasses'],
  'node.k8s.io': ['runtimeclasses'],
  'flowcontrol.apiserver.k8s.io': ['flowschemas', 'prioritylevelconfigurations'],
  'resource.k8s.io': ['deviceclasses', 'resourceclaims', 'resourceclaimtemplates', 'resourceslices'],
  'internal.apiserver.k8s.io': ['storageversions'],
  'storagemigration.k8s.io': ['storageversionmigrations'],
  // Served by metrics-server through aggregation in almost every cluster.
  'metrics.k8s.io': ['nodes', 'pods'],
};

/** Groups that older clusters served and current ones do not. */
export const REMOVED_GROUPS: Readonly<Record<string, string>> = {
  extensions:
    'removed in Kubernetes 1.22 (deployments, daemonsets and replicasets moved to apps, ingresses to networking.k8s.io)',
  'settings.k8s.io': 'removed in Kubernetes 1.20',
  'auditregistration.k8s.io': 'removed in Kubernetes 1.19',
};

/** Verbs kube-apiserver logs: resource verbs, and lower-case HTTP methods for non-resource requests. */
export const KNOWN_VERBS: readonly string[] = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'post',
  'put',
  'head',
  'options',
];

/** The group a built-in resource belongs to, when it is unambiguous; undefined otherwise. */
export function groupOfResource(resource: string): string | undefined {
  const groups = Object.entries(BUILTIN_RESOURCES)
    .filter(([g, list]) => g !== 'metrics.k8s.io' && list.includes(resource))
    .map(([g]) => g);
  return groups.length === 1 ? groups[0] : undefined;
}
