// Granted but unused: for every subject of every binding, each permission its role grants (each rule
// broken down to one API group, resource and verb, or one non-resource URL and verb, keeping its
// resourceNames), with how often and when last an allowed request of that subject in the range used it.
// Dangerous unused permissions come first. Also what to remove from each role: the permissions no
// subject of any binding of it used (an aggregated ClusterRole is left alone: its rules are written by
// the API server from the roles it selects, which are judged on their own).
import { RbacEvaluator, ruleAllows, subjectMatches, effectiveGroups } from './evaluate.js';
import { dangerOf } from './danger.js';
import type { Observation } from './requests.js';
import { subjectRef, subjectText, type SubjectRef } from './subject.js';
import type { AnyBinding, AnyRole, PolicyRule, RbacSet } from './types.js';

export interface ObjectId {
  kind: string;
  name: string;
  namespace?: string;
}

export interface Grant {
  binding: ObjectId;
  /** The role that holds the rule (for an aggregated ClusterRole, the one it selected). */
  role: ObjectId;
  /** The role the binding names, when the rule came to it by aggregation. */
  via?: string;
  ruleIndex: number;
  /** Namespace the grant applies in; '' for every namespace and cluster-wide. */
  scope: string;
  permission: PolicyRule;
  dangerous?: string;
  uses: number;
  lastUsed?: number;
}

export interface SubjectGrants {
  subject: SubjectRef;
  grants: Grant[];
}

export interface RoleRemoval {
  role: AnyRole;
  /** The permissions to remove. */
  remove: PolicyRule[];
  /** The role's rules without them. */
  rules: PolicyRule[];
}

export interface UnusedReport {
  subjects: SubjectGrants[];
  removals: RoleRemoval[];
}

/** One rule as permissions: API group × resource × verb (names kept), or non-resource URL × verb. */
export function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const url of rule.nonResourceURLs ?? [])
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  const names = rule.resourceNames?.length ? { resourceNames: rule.resourceNames } : {};
  for (const g of rule.apiGroups ?? [])
    for (const r of rule.resources ?? [])
      for (const verb of rule.verbs) out.push({ apiGroups: [g], resources: [r], verbs: [verb], ...names });
  return out;
}

/** A permission in words: `get secrets`, `update apps/deployments/scale [web]`, `get /healthz`. */
export function describePermission(p: PolicyRule): string {
  if (p.nonResourceURLs?.length) return `${p.verbs.join(',')} ${p.nonResourceURLs.join(',')}`;
  const groups = (p.apiGroups ?? []).filter((g) => g !== '');
  const res = (p.resources ?? []).map((r) => (groups.length ? `${groups.join(',')}/${r}` : r)).join(',');
  return `${p.verbs.join(',')} ${res}${p.resourceNames?.length ? ` [${p.resourceNames.join(',')}]` : ''}`;
}

const idOf = (o: { kind: string; metadata: { name: string; namespace?: string } }): ObjectId => ({
  kind: o.kind,
  name: o.metadata.name,
  ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
});
const idKey = (o: ObjectId) => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

/** Rebuilds the rules of one rule's remaining permissions (same groups and names, resources by verbs). */
function rebuild(rule: PolicyRule, keep: readonly PolicyRule[]): PolicyRule[] {
  const names = rule.resourceNames?.length ? { resourceNames: rule.resourceNames } : {};
  const out: PolicyRule[] = [];
  const urlVerbs = new Map<string, string[]>();
  const resVerbs = new Map<string, string[]>(); // group\0resource → verbs
  for (const p of keep) {
    if (p.nonResourceURLs)
      urlVerbs.set(p.nonResourceURLs[0]!, [...(urlVerbs.get(p.nonResourceURLs[0]!) ?? []), p.verbs[0]!]);
    else {
      const k = `${p.apiGroups![0]}\0${p.resources![0]}`;
      resVerbs.set(k, [...(resVerbs.get(k) ?? []), p.verbs[0]!]);
    }
  }
  const grouped = new Map<string, PolicyRule>();
  for (const [k, verbs] of resVerbs) {
    const [g, r] = k.split('\0') as [string, string];
    const gk = `${g}\0${verbs.join(',')}`;
    const x = grouped.get(gk);
    if (x) x.resources!.push(r);
    else grouped.set(gk, { apiGroups: [g], resources: [r], verbs, ...names });
  }
  out.push(...grouped.values());
  const byVerbs = new Map<string, PolicyRule>();
  for (const [u, verbs] of urlVerbs) {
    const x = byVerbs.get(verbs.join(','));
    if (x) x.nonResourceURLs!.push(u);
    else byVerbs.set(verbs.join(','), { nonResourceURLs: [u], verbs });
  }
  out.push(...byVerbs.values());
  return out;
}

export function analyzeUnused(
  set: RbacSet,
  observations: readonly Observation[],
  opts: { subject?: SubjectRef } = {},
): UnusedReport {
  const ev = new RbacEvaluator(set);
  const atoms = new WeakMap<PolicyRule, PolicyRule[]>();
  const atomsOf = (r: PolicyRule) => atoms.get(r) ?? (atoms.set(r, breakdown(r)), atoms.get(r)!);
  const bindings: AnyBinding[] = [...set.clusterRoleBindings, ...set.roleBindings];
  const bindingIndex = new Map(bindings.map((b, i) => [b, i]));
  const use = new Map<string, { uses: number; last: number }>();
  const mark = (key: string, o: Observation) => {
    const u = use.get(key);
    if (u) {
      u.uses += o.count;
      u.last = Math.max(u.last, o.last);
    } else use.set(key, { uses: o.count, last: o.last });
  };
  for (const o of observations) {
    if (o.outcome !== 'allowed') continue;
    const r = o.request;
    const groups = effectiveGroups(r.user, r.groups);
    const ns = r.nonResourceURL === undefined ? (r.namespace ?? '') : '';
    for (const b of ev.bindingsFor(ns)) {
      const bns = b.kind === 'RoleBinding' ? (b.metadata.namespace ?? '') : '';
      const bi = bindingIndex.get(b)!;
      (b.subjects ?? []).forEach((s, si) => {
        if (!subjectMatches(s, r.user, groups, bns)) return;
        for (const sr of ev.bindingRules(b)) {
          const roleKey = `${sr.role.kind}/${sr.role.namespace ?? ''}/${sr.role.name}#${sr.index}`;
          atomsOf(sr.rule).forEach((a, ai) => {
            if (!ruleAllows(a, r)) return;
            mark(`${bi}|${si}|${roleKey}|${ai}`, o);
            mark(`${roleKey}|${ai}`, o);
          });
        }
      });
    }
  }
  const wanted = (s: SubjectRef) => !opts.subject || subjectText(s) === subjectText(opts.subject);
  const bySubject = new Map<string, SubjectGrants>();
  const boundRoles = new Map<string, AnyRole>();
  const roleObject = (id: ObjectId): AnyRole | undefined =>
    id.kind === 'Role'
      ? set.roles.find(
          (x) => x.metadata.name === id.name && (x.metadata.namespace ?? '') === (id.namespace ?? ''),
        )
      : set.clusterRoles.find((x) => x.metadata.name === id.name);
  bindings.forEach((b, bi) => {
    const bns = b.kind === 'RoleBinding' ? (b.metadata.namespace ?? '') : '';
    (b.subjects ?? []).forEach((s, si) => {
      const ref = subjectRef(s, bns);
      if (!wanted(ref)) return;
      const text = subjectText(ref);
      const entry = bySubject.get(text) ?? { subject: ref, grants: [] };
      bySubject.set(text, entry);
      for (const sr of ev.bindingRules(b)) {
        const role: ObjectId = {
          kind: sr.role.kind,
          name: sr.role.name,
          ...(sr.role.namespace ? { namespace: sr.role.namespace } : {}),
        };
        const obj = roleObject(role);
        if (obj) boundRoles.set(idKey(role), obj);
        const roleKey = `${sr.role.kind}/${sr.role.namespace ?? ''}/${sr.role.name}#${sr.index}`;
        atomsOf(sr.rule).forEach((a, ai) => {
          const u = use.get(`${bi}|${si}|${roleKey}|${ai}`);
          const danger = dangerOf(a);
          entry.grants.push({
            binding: idOf(b),
            role,
            ...(sr.role.name !== b.roleRef.name || sr.role.kind !== b.roleRef.kind
              ? { via: b.roleRef.name }
              : {}),
            ruleIndex: sr.index,
            scope: bns,
            permission: a,
            ...(danger ? { dangerous: danger } : {}),
            uses: u?.uses ?? 0,
            ...(u ? { lastUsed: u.last } : {}),
          });
        });
      }
    });
  });
  const rank = (g: Grant) => (g.uses > 0 ? 2 : g.dangerous ? 0 : 1);
  const subjects = [...bySubject.values()].sort((a, b) =>
    cmp(subjectText(a.subject), subjectText(b.subject)),
  );
  for (const s of subjects) s.grants.sort((a, b) => rank(a) - rank(b) || cmp(grantKey(a), grantKey(b)));
  const removals: RoleRemoval[] = [];
  for (const role of [...boundRoles.values()].sort((a, b) => cmp(idKey(idOf(a)), idKey(idOf(b))))) {
    if (role.kind === 'ClusterRole' && role.aggregationRule) continue;
    const remove: PolicyRule[] = [];
    const rules: PolicyRule[] = [];
    role.rules.forEach((rule, i) => {
      const key = `${role.kind}/${role.metadata.namespace ?? ''}/${role.metadata.name}#${i}`;
      const parts = atomsOf(rule);
      const unused = parts.filter((_, ai) => !use.has(`${key}|${ai}`));
      remove.push(...unused);
      rules.push(
        ...(unused.length === 0
          ? [rule]
          : rebuild(
              rule,
              parts.filter((_, ai) => use.has(`${key}|${ai}`)),
            )),
      );
    });
    if (remove.length > 0) removals.push({ role, remove, rules });
  }
  return { subjects, removals };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const grantKey = (g: Grant) =>
  `${idKey(g.binding)}|${idKey(g.role)}|${String(g.ruleIndex).padStart(6, '0')}|${describePermission(g.permission)}`;
