// What detection needs from the audit log, as filters: the security-relevant requests (exec, secrets
// access, RBAC changes with their bodies, impersonation, denied and unauthenticated requests…) that a
// policy must keep logging, at a level that keeps the fields the filter reads. `policy simulate` and
// `policy recommend` check a policy against them.
import type { EventRecord } from '../core/event.js';
import { compileJs, parseQuery } from '../query/index.js';

export interface DetectionNeed {
  id: string;
  title: string;
  /** A filter-language expression that finds the events. */
  filter: string;
  /** Where the need comes from: built into kubetrail, a demo incident, or given on the command line. */
  source: 'builtin' | 'demo-incident' | 'user';
}

export interface CompiledNeed extends DetectionNeed {
  match: (r: EventRecord) => boolean;
}

/** Requests any Kubernetes threat detection relies on. */
export const BUILTIN_NEEDS: readonly DetectionNeed[] = [
  {
    id: 'exec-attach-portforward',
    title: 'Interactive access to pods (exec, attach, port-forward)',
    filter: 'resource:pods subresource:(exec OR attach OR portforward)',
  },
  { id: 'proxy', title: 'Proxy to pods, services and nodes', filter: 'subresource:proxy' },
  { id: 'secret-access', title: 'Secret reads and writes', filter: 'resource:secrets' },
  {
    id: 'rbac-change',
    title: 'RBAC changes, with the role and subjects in the body',
    filter:
      'apigroup:rbac.authorization.k8s.io verb:(create OR update) (requestObject.roleRef.name:* OR requestObject.rules.verbs:*)',
  },
  {
    id: 'rbac-delete',
    title: 'RBAC objects deleted',
    filter: 'apigroup:rbac.authorization.k8s.io verb:(delete OR deletecollection)',
  },
  {
    id: 'privileged-workload',
    title: 'Privileged containers and host namespaces, read from the request body',
    filter:
      'verb:create (requestObject.spec.containers.securityContext.privileged:true OR requestObject.spec.hostNetwork:true OR requestObject.spec.hostPID:true OR requestObject.spec.template.spec.containers.securityContext.privileged:true)',
  },
  {
    id: 'hostpath-mount',
    title: 'Host paths mounted into pods',
    filter:
      'verb:create (requestObject.spec.volumes.hostPath.path:* OR requestObject.spec.template.spec.volumes.hostPath.path:*)',
  },
  { id: 'impersonation', title: 'Requests made while impersonating someone', filter: 'impersonated:*' },
  {
    id: 'token-request',
    title: 'Service account tokens requested',
    filter: 'resource:serviceaccounts subresource:token',
  },
  {
    id: 'csr',
    title: 'Certificate signing requests and approvals',
    filter: 'resource:certificatesigningrequests',
  },
  {
    id: 'admission-webhooks',
    title: 'Admission webhooks changed (a way to intercept or blind the cluster)',
    filter:
      'resource:(mutatingwebhookconfigurations OR validatingwebhookconfigurations) -verb:(get OR list OR watch)',
  },
  { id: 'forbidden', title: 'Denied requests (403)', filter: 'code:403' },
  { id: 'unauthenticated', title: 'Failed authentication (401)', filter: 'code:401' },
  {
    id: 'anonymous',
    title: 'Anonymous requests other than health checks',
    filter: 'user:system:anonymous -uri:(/healthz* OR /livez* OR /readyz*)',
  },
].map((n) => ({ ...n, source: 'builtin' as const }));

/**
 * The requests detection needs: the built-in list, the filters of the given incidents (the demo data
 * set's, which the commands pass in), then the user's filters.
 */
export function detectionNeeds(
  extra: readonly string[] = [],
  incidents: readonly { id: string; title: string; filter: string }[] = [],
): DetectionNeed[] {
  return [
    ...BUILTIN_NEEDS,
    ...incidents.map((i) => ({
      id: `demo:${i.id}`,
      title: i.title,
      filter: i.filter,
      source: 'demo-incident' as const,
    })),
    ...extra.map((filter, k) => ({ id: `user:${k + 1}`, title: filter, filter, source: 'user' as const })),
  ];
}

/** Compiles needs once; a filter that does not parse raises the filter language's error. */
export function compileNeeds(needs: readonly DetectionNeed[]): CompiledNeed[] {
  return needs.map((n) => ({ ...n, match: compileJs(parseQuery(n.filter)) }));
}
