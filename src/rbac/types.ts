// The RBAC objects of rbac.authorization.k8s.io/v1 as kubetrail reads and writes them (Role, ClusterRole,
// RoleBinding, ClusterRoleBinding and their parts), a set of them, and the attributes of one request as
// the API server's authorizer sees it.

export const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface Role {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'Role';
  metadata: ObjectMeta;
  rules: PolicyRule[];
}

export interface ClusterRole {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'ClusterRole';
  metadata: ObjectMeta;
  rules: PolicyRule[];
  aggregationRule?: { clusterRoleSelectors?: LabelSelector[] };
}

export interface Subject {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: typeof RBAC_GROUP;
  kind: 'Role' | 'ClusterRole';
  name: string;
}

export interface RoleBinding {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'RoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export interface ClusterRoleBinding {
  apiVersion: typeof RBAC_API_VERSION;
  kind: 'ClusterRoleBinding';
  metadata: ObjectMeta;
  subjects?: Subject[];
  roleRef: RoleRef;
}

export type RbacObject = Role | ClusterRole | RoleBinding | ClusterRoleBinding;
export type AnyRole = Role | ClusterRole;
export type AnyBinding = RoleBinding | ClusterRoleBinding;

/** A set of RBAC objects: what a cluster holds, or what a suggestion adds. */
export interface RbacSet {
  roles: Role[];
  clusterRoles: ClusterRole[];
  roleBindings: RoleBinding[];
  clusterRoleBindings: ClusterRoleBinding[];
}

export function emptySet(): RbacSet {
  return { roles: [], clusterRoles: [], roleBindings: [], clusterRoleBindings: [] };
}

/** A set from a list of objects. */
export function setOf(objects: readonly RbacObject[]): RbacSet {
  const s = emptySet();
  for (const o of objects) {
    if (o.kind === 'Role') s.roles.push(o);
    else if (o.kind === 'ClusterRole') s.clusterRoles.push(o);
    else if (o.kind === 'RoleBinding') s.roleBindings.push(o);
    else s.clusterRoleBindings.push(o);
  }
  return s;
}

/** The objects of a set in the order `kubectl apply` wants them: roles before the bindings that name them. */
export function objectsOf(s: RbacSet): RbacObject[] {
  return [...s.clusterRoles, ...s.clusterRoleBindings, ...s.roles, ...s.roleBindings];
}

/**
 * One request as the authorizer sees it. A resource request names `resource` (and optionally apiGroup,
 * subresource, name and namespace); a non-resource request names `nonResourceURL` (a path, no query).
 */
export interface RbacRequest {
  user: string;
  groups?: readonly string[];
  verb: string;
  namespace?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  name?: string;
  nonResourceURL?: string;
}

export const isResourceRequest = (r: RbacRequest): boolean => r.nonResourceURL === undefined;

/** The username the API server gives a service account. */
export const serviceAccountUser = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;

/** The namespace and name of a service account username, or undefined for any other username. */
export function splitServiceAccount(user: string): { namespace: string; name: string } | undefined {
  const m = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(user);
  return m ? { namespace: m[1]!, name: m[2]! } : undefined;
}
