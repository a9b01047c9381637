// Resolves kubectl-style object names (deployment/web, deploy/web, deployments.apps/web, svc/api) to the
// resource and API group the audit log records. Covers the built-in kinds with their short names; an
// unknown kind is taken as a plural resource name (custom resources: widgets.example.com/x).

export interface ResourceKind {
  resource: string;
  group: string;
  kind: string;
  shortNames: readonly string[];
  namespaced: boolean;
}

const K = (
  kind: string,
  resource: string,
  group: string,
  shortNames: string[] = [],
  namespaced = true,
): ResourceKind => ({ kind, resource, group, shortNames, namespaced });

export const BUILTIN_KINDS: readonly ResourceKind[] = [
  K('Pod', 'pods', '', ['po']),
  K('Service', 'services', '', ['svc']),
  K('ConfigMap', 'configmaps', '', ['cm']),
  K('Secret', 'secrets', ''),
  K('ServiceAccount', 'serviceaccounts', '', ['sa']),
  K('Namespace', 'namespaces', '', ['ns'], false),
  K('Node', 'nodes', '', ['no'], false),
  K('PersistentVolume', 'persistentvolumes', '', ['pv'], false),
  K('PersistentVolumeClaim', 'persistentvolumeclaims', '', ['pvc']),
  K('Endpoints', 'endpoints', '', ['ep']),
  K('Event', 'events', '', ['ev']),
  K('LimitRange', 'limitranges', '', ['limits']),
  K('ResourceQuota', 'resourcequotas', '', ['quota']),
  K('ReplicationController', 'replicationcontrollers', '', ['rc']),
  K('Deployment', 'deployments', 'apps', ['deploy']),
  K('StatefulSet', 'statefulsets', 'apps', ['sts']),
  K('DaemonSet', 'daemonsets', 'apps', ['ds']),
  K('ReplicaSet', 'replicasets', 'apps', ['rs']),
  K('ControllerRevision', 'controllerrevisions', 'apps'),
  K('Job', 'jobs', 'batch'),
  K('CronJob', 'cronjobs', 'batch', ['cj']),
  K('Ingress', 'ingresses', 'networking.k8s.io', ['ing']),
  K('IngressClass', 'ingressclasses', 'networking.k8s.io', [], false),
  K('NetworkPolicy', 'networkpolicies', 'networking.k8s.io', ['netpol']),
  K('Role', 'roles', 'rbac.authorization.k8s.io'),
  K('RoleBinding', 'rolebindings', 'rbac.authorization.k8s.io'),
  K('ClusterRole', 'clusterroles', 'rbac.authorization.k8s.io', [], false),
  K('ClusterRoleBinding', 'clusterrolebindings', 'rbac.authorization.k8s.io', [], false),
  K('StorageClass', 'storageclasses', 'storage.k8s.io', ['sc'], false),
  K('CustomResourceDefinition', 'customresourcedefinitions', 'apiextensions.k8s.io', ['crd', 'crds'], false),
  K(
    'MutatingWebhookConfiguration',
    'mutatingwebhookconfigurations',
    'admissionregistration.k8s.io',
    [],
    false,
  ),
  K(
    'ValidatingWebhookConfiguration',
    'validatingwebhookconfigurations',
    'admissionregistration.k8s.io',
    [],
    false,
  ),
  K('PodDisruptionBudget', 'poddisruptionbudgets', 'policy', ['pdb']),
  K('HorizontalPodAutoscaler', 'horizontalpodautoscalers', 'autoscaling', ['hpa']),
  K('Lease', 'leases', 'coordination.k8s.io'),
  K('CertificateSigningRequest', 'certificatesigningrequests', 'certificates.k8s.io', ['csr'], false),
  K('PriorityClass', 'priorityclasses', 'scheduling.k8s.io', ['pc'], false),
  K('APIService', 'apiservices', 'apiregistration.k8s.io', [], false),
];

/** Finds the resource for a kind as kubectl accepts it: Kind, kind, plural, singular, short name, with optional `.group`. */
export function resolveKind(text: string): ResourceKind {
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const head = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  for (const k of BUILTIN_KINDS) {
    const names = [k.resource, k.kind.toLowerCase(), ...k.shortNames];
    if (
      names.includes(head) &&
      (group === undefined || group === k.group || (group === 'core' && k.group === ''))
    ) {
      return k;
    }
  }
  return { kind: text, resource: head, group: group ?? '', shortNames: [], namespaced: true };
}

/** Splits `KIND/NAME`; the name may itself contain slashes only for non-namespaced odd cases (kept whole). */
export function parseObjectArg(text: string): { kind: ResourceKind; name: string } | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) return undefined;
  return { kind: resolveKind(text.slice(0, slash)), name: text.slice(slash + 1) };
}
