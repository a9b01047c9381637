// Which permissions are dangerous to hold unused: reading secrets, exec and attach into pods, escalate and
// bind on roles, impersonation, any `*`, the nodes' proxy, minting service account tokens and approving
// certificate signing requests. A permission is tested against one probe request per danger, with the
// evaluator's rule matching, so that `*/exec` or `resources: ["*"]` count as what they allow.
import { ruleAllows } from './evaluate.js';
import type { PolicyRule, RbacRequest } from './types.js';

type Probe = Omit<RbacRequest, 'user' | 'groups'>;

const RBAC = 'rbac.authorization.k8s.io';
const AUTHN = 'authentication.k8s.io';
const CERTS = 'certificates.k8s.io';

/** The dangers and the requests that show them. */
export const DANGERS: readonly { reason: string; probes: Probe[] }[] = [
  {
    reason: 'reads secrets',
    probes: ['get', 'list', 'watch'].map((verb) => ({ verb, apiGroup: '', resource: 'secrets' })),
  },
  {
    reason: 'pods/exec',
    probes: ['create', 'get'].map((verb) => ({ verb, apiGroup: '', resource: 'pods', subresource: 'exec' })),
  },
  {
    reason: 'pods/attach',
    probes: ['create', 'get'].map((verb) => ({
      verb,
      apiGroup: '',
      resource: 'pods',
      subresource: 'attach',
    })),
  },
  {
    reason: 'escalate',
    probes: ['roles', 'clusterroles'].map((resource) => ({ verb: 'escalate', apiGroup: RBAC, resource })),
  },
  {
    reason: 'bind',
    probes: ['roles', 'clusterroles'].map((resource) => ({ verb: 'bind', apiGroup: RBAC, resource })),
  },
  {
    reason: 'impersonate',
    probes: [
      ...['users', 'groups', 'serviceaccounts'].map((resource) => ({
        verb: 'impersonate',
        apiGroup: '',
        resource,
      })),
      { verb: 'impersonate', apiGroup: AUTHN, resource: 'uids' },
      { verb: 'impersonate', apiGroup: AUTHN, resource: 'userextras', subresource: 'scopes' },
    ],
  },
  {
    reason: 'nodes/proxy',
    probes: ['get', 'create'].map((verb) => ({
      verb,
      apiGroup: '',
      resource: 'nodes',
      subresource: 'proxy',
    })),
  },
  {
    reason: 'serviceaccounts/token',
    probes: [{ verb: 'create', apiGroup: '', resource: 'serviceaccounts', subresource: 'token' }],
  },
  {
    reason: 'CSR approval',
    probes: [
      { verb: 'update', apiGroup: CERTS, resource: 'certificatesigningrequests', subresource: 'approval' },
      { verb: 'approve', apiGroup: CERTS, resource: 'signers' },
    ],
  },
];

/** Why a permission is dangerous (the first reason), or undefined. */
export function dangerOf(rule: PolicyRule): string | undefined {
  const all = [rule.verbs, rule.apiGroups, rule.resources, rule.nonResourceURLs];
  if (all.some((list) => (list ?? []).includes('*'))) return '*';
  if ((rule.resources ?? []).length === 0) return undefined;
  const name = rule.resourceNames?.[0];
  for (const d of DANGERS)
    if (d.probes.some((p) => ruleAllows(rule, { user: '', ...p, ...(name !== undefined ? { name } : {}) })))
      return d.reason;
  return undefined;
}
