// Does a set of RBAC objects allow a request? Answered with the semantics of the API server's RBAC
// authorizer: the ClusterRoleBindings are visited, then the RoleBindings of the request's namespace; a
// binding applies when one of its subjects is the user (User by name, Group by one of the user's groups,
// ServiceAccount by the username system:serviceaccount:NS:NAME, NS defaulting to a RoleBinding's own);
// a rule allows a request when verb, API group, resource (with `*`, `RESOURCE/SUBRESOURCE` and
// `*/SUBRESOURCE`), resource name, or non-resource URL (exact, `*`, or a prefix ending in `*`) match. A
// RoleBinding may name a ClusterRole: its rules then apply in the binding's namespace only, and its
// non-resource rules not at all. A ClusterRole with an aggregationRule also holds the rules of every
// ClusterRole its label selectors match. Nothing is built in: the default `system:` roles count only
// when they are in the set.
import {
  isResourceRequest,
  splitServiceAccount,
  type AnyBinding,
  type ClusterRole,
  type LabelSelector,
  type PolicyRule,
  type RbacRequest,
  type RbacSet,
  type Subject,
} from './types.js';

/** A rule and the role it was written in (an aggregated ClusterRole's rules keep their own role). */
export interface SourcedRule {
  rule: PolicyRule;
  role: { kind: 'Role' | 'ClusterRole'; name: string; namespace?: string };
  /** The rule's index in its role's `rules`. */
  index: number;
}

export interface Decision {
  allowed: boolean;
  /** The binding and rule that allowed the request. */
  by?: { binding: AnyBinding; rule: SourcedRule };
}

const has = (list: readonly string[] | undefined, v: string) => (list ?? []).includes(v);

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some((v) => v === '*' || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === '*' || g === group);
}

/** `combined` is RESOURCE or RESOURCE/SUBRESOURCE; `pods/*` is a literal name, as for the API server. */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(
    (r) =>
      r === '*' ||
      r === combined ||
      (subresource !== '' && r.length === subresource.length + 2 && r === `*/${subresource}`),
  );
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, url: string): boolean {
  return (rule.nonResourceURLs ?? []).some(
    (u) => u === '*' || u === url || (u.endsWith('*') && url.startsWith(u.slice(0, -1))),
  );
}

/** Whether one rule allows the request's action (subjects and namespaces aside). */
export function ruleAllows(rule: PolicyRule, req: RbacRequest): boolean {
  if (!verbMatches(rule, req.verb)) return false;
  if (!isResourceRequest(req)) return nonResourceURLMatches(rule, req.nonResourceURL!);
  const sub = req.subresource ?? '';
  const combined = sub === '' ? (req.resource ?? '') : `${req.resource ?? ''}/${sub}`;
  return (
    apiGroupMatches(rule, req.apiGroup ?? '') &&
    resourceMatches(rule, combined, sub) &&
    resourceNameMatches(rule, req.name ?? '')
  );
}

/** The groups the API server gives a service account, added to those the request names. */
export function effectiveGroups(user: string, groups: readonly string[] = []): string[] {
  const sa = splitServiceAccount(user);
  if (!sa) return [...groups];
  return [...new Set([...groups, 'system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`])];
}

/** Whether a binding subject is this user (`bindingNamespace` is a RoleBinding's, '' for a cluster one). */
export function subjectMatches(
  subject: Subject,
  user: string,
  groups: readonly string[],
  bindingNamespace: string,
): boolean {
  if (subject.kind === 'User') return subject.name === user;
  if (subject.kind === 'Group') return groups.includes(subject.name);
  if (subject.kind === 'ServiceAccount') {
    const ns = subject.namespace || bindingNamespace;
    if (ns === '') return false;
    return user === `system:serviceaccount:${ns}:${subject.name}`;
  }
  return false;
}

/** Whether a set of labels matches a label selector (an empty selector matches every set). */
export function selectorMatches(sel: LabelSelector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    if (e.operator === 'In' && !(present && has(e.values, value!))) return false;
    if (e.operator === 'NotIn' && present && has(e.values, value!)) return false;
    if (e.operator === 'Exists' && !present) return false;
    if (e.operator === 'DoesNotExist' && present) return false;
  }
  return true;
}

/** Evaluates requests against one set of RBAC objects (prepared once). */
export class RbacEvaluator {
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly clusterRules = new Map<string, SourcedRule[]>();
  private readonly roleRules = new Map<string, SourcedRule[]>();
  private readonly bindingsByNamespace = new Map<string, AnyBinding[]>();

  constructor(readonly set: RbacSet) {
    for (const c of set.clusterRoles) this.clusterRoles.set(c.metadata.name, c);
    for (const r of set.roles)
      this.roleRules.set(
        `${r.metadata.namespace ?? ''}/${r.metadata.name}`,
        r.rules.map((rule, index) => ({
          rule,
          index,
          role: { kind: 'Role', name: r.metadata.name, namespace: r.metadata.namespace ?? '' },
        })),
      );
    for (const b of set.roleBindings) {
      const ns = b.metadata.namespace ?? '';
      const list = this.bindingsByNamespace.get(ns) ?? [];
      list.push(b);
      this.bindingsByNamespace.set(ns, list);
    }
  }

  /** The rules of a ClusterRole, with those of the ClusterRoles its aggregationRule selects. */
  clusterRoleRules(name: string): SourcedRule[] {
    const cached = this.clusterRules.get(name);
    if (cached) return cached;
    const out: SourcedRule[] = [];
    const seen = new Set<string>();
    const visit = (n: string) => {
      if (seen.has(n)) return;
      seen.add(n);
      const role = this.clusterRoles.get(n);
      if (!role) return;
      role.rules.forEach((rule, index) => out.push({ rule, index, role: { kind: 'ClusterRole', name: n } }));
      for (const sel of role.aggregationRule?.clusterRoleSelectors ?? [])
        for (const other of this.set.clusterRoles)
          if (other.metadata.name !== n && selectorMatches(sel, other.metadata.labels))
            visit(other.metadata.name);
    };
    visit(name);
    this.clusterRules.set(name, out);
    return out;
  }

  /** The rules a binding grants (none when its role is missing: the authorizer skips it). */
  bindingRules(b: AnyBinding): SourcedRule[] {
    if (b.roleRef.kind === 'ClusterRole') return this.clusterRoleRules(b.roleRef.name);
    if (b.kind === 'ClusterRoleBinding') return [];
    return this.roleRules.get(`${b.metadata.namespace ?? ''}/${b.roleRef.name}`) ?? [];
  }

  /** The bindings that could apply to a request in this namespace ('' for cluster-wide requests). */
  bindingsFor(namespace: string): AnyBinding[] {
    const cluster: AnyBinding[] = this.set.clusterRoleBindings;
    return namespace === '' ? cluster : [...cluster, ...(this.bindingsByNamespace.get(namespace) ?? [])];
  }

  authorize(req: RbacRequest): Decision {
    const groups = effectiveGroups(req.user, req.groups);
    const resource = isResourceRequest(req);
    const namespace = resource ? (req.namespace ?? '') : '';
    for (const b of this.bindingsFor(namespace)) {
      const bindingNs = b.kind === 'RoleBinding' ? (b.metadata.namespace ?? '') : '';
      if (!(b.subjects ?? []).some((s) => subjectMatches(s, req.user, groups, bindingNs))) continue;
      for (const r of this.bindingRules(b))
        if (ruleAllows(r.rule, req)) return { allowed: true, by: { binding: b, rule: r } };
    }
    return { allowed: false };
  }

  allows(req: RbacRequest): boolean {
    return this.authorize(req).allowed;
  }
}
