// The audit Policy as kube-apiserver reads it (audit.k8s.io/v1, v1beta1 accepted), the request attributes
// a policy is evaluated against, a policy decision, and the positioned problems the loader and lint report.
import type { Level, Stage } from '../core/event.js';

export interface GroupResources {
  /** API group; empty or absent is the core group. `*` (Kubernetes 1.36+) is every group. */
  group?: string;
  // Resources: `resource`, `resource/subresource`, `*`, `resource/*` or `*/subresource`; empty: every resource.
  resources?: string[];
  resourceNames?: string[];
}

export interface PolicyRule {
  level: Level;
  users?: string[];
  userGroups?: string[];
  verbs?: string[];
  resources?: GroupResources[];
  namespaces?: string[];
  nonResourceURLs?: string[];
  omitStages?: Stage[];
  /** When set, overrides the policy's omitManagedFields for requests this rule matches. */
  omitManagedFields?: boolean;
}

export interface Policy {
  apiVersion: string;
  kind: 'Policy';
  omitStages?: Stage[];
  omitManagedFields?: boolean;
  rules: PolicyRule[];
}

/** What kube-apiserver knows about a request when it consults the policy (authorizer attributes). */
export interface RequestAttributes {
  /** Undefined for requests that failed authentication: `users`/`userGroups` rules never match them. */
  user?: { name: string; groups: string[] };
  verb: string;
  resourceRequest: boolean;
  /** Empty for cluster-scoped requests and cluster-wide lists. */
  namespace: string;
  /** Empty for the core group. */
  apiGroup: string;
  resource: string;
  subresource: string;
  name: string;
  /** The request path, without its query string. */
  path: string;
}

/** The checker's answer for one request. */
export interface Decision {
  level: Level;
  /** Stages not to log: the policy's and the matching rule's, united, in stage order. */
  omitStages: Stage[];
  omitManagedFields: boolean;
  /** Index of the first matching rule, or null when no rule matched (level None). */
  rule: number | null;
}

export type Severity = 'error' | 'warning';

/** One problem in a policy file, with where it is. */
export interface Problem {
  severity: Severity;
  /** A stable identifier of the kind of problem (e.g. `unknown-field`, `shadowed-rule`). */
  id: string;
  message: string;
  /** Field path in Kubernetes notation: `rules[2].resources[0].group`; empty for the whole document. */
  path: string;
  file?: string;
  line?: number;
  column?: number;
}
