// Least privilege from the audit trail: the Roles, ClusterRoles and bindings that allow exactly the
// requests a subject made and the API server allowed, and nothing more. Every allowed request becomes a
// permission (scope, API group, resource or resource/subresource, verb, and with --names the object's
// name where RBAC can limit by it); permissions a cluster-wide one covers are dropped; the rest are
// written as rules, one per set of resources sharing exactly the same verbs (and names), so that each
// rule, verb, resource and name is needed by some request. Cluster-scoped resources, requests across all
// namespaces and non-resource URLs go to a ClusterRole; namespaced ones to one Role per namespace.
// Refused requests are reported, never granted.
import { RbacEvaluator } from './evaluate.js';
import { UNNAMED_VERBS, type Observation } from './requests.js';
import { bindingSubject, madeBy, subjectText, type SubjectRef } from './subject.js';
import {
  RBAC_API_VERSION,
  RBAC_GROUP,
  setOf,
  type ObjectMeta,
  type PolicyRule,
  type RbacObject,
  type RbacRequest,
  type RbacSet,
} from './types.js';

export interface SuggestOptions {
  subject: SubjectRef;
  /** Limit get, update, patch, delete (and other named verbs) to the names seen. */
  names?: boolean;
  /** Grant get, list and watch together where any of them was used. */
  expandVerbs?: boolean;
  /** Only requests in this namespace. */
  namespace?: string;
  /** Name of the generated objects (default kubetrail:SUBJECT). */
  name?: string;
  /** The cluster's RBAC: requests it already allows are left out of the suggestion. */
  existing?: RbacEvaluator;
}

export interface Refused {
  request: RbacRequest;
  count: number;
  last: number;
  /** Also allowed at another time, so the suggestion grants it. */
  grantedAnyway: boolean;
}

export interface Suggestion {
  subject: SubjectRef;
  objects: RbacObject[];
  set: RbacSet;
  /** Allowed requests (distinct) and events behind them. */
  allowed: Observation[];
  refused: Refused[];
  /** Allowed requests (distinct) left out because `existing` already allows them. */
  alreadyAllowed: number;
  first?: number;
  last?: number;
}

const READ_VERBS = ['get', 'list', 'watch'];

interface Perm {
  scope: string;
  url?: string;
  apiGroup: string;
  resource: string;
  verb: string;
  name: string;
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort(cmp);

/** The permissions one allowed request needs. */
function permsOf(r: RbacRequest, opts: SuggestOptions): Perm[] {
  if (r.nonResourceURL !== undefined)
    return [{ scope: '', url: r.nonResourceURL, apiGroup: '', resource: '', verb: r.verb, name: '' }];
  const resource = r.subresource ? `${r.resource}/${r.subresource}` : r.resource!;
  const verbs = opts.expandVerbs && READ_VERBS.includes(r.verb) ? READ_VERBS : [r.verb];
  // Impersonation is always limited to the identities taken on: "impersonate anyone" is never least.
  const nameable = (v: string) => !UNNAMED_VERBS.has(v) && (opts.names || v === 'impersonate');
  return verbs.map((verb) => ({
    scope: r.namespace ?? '',
    apiGroup: r.apiGroup ?? '',
    resource,
    verb,
    name: verb === r.verb && nameable(verb) ? (r.name ?? '') : '',
  }));
}

/** Groups keys by an equal value: value key → keys. */
function groupBy<K>(entries: Iterable<[K, string[]]>): Map<string, { keys: K[]; values: string[] }> {
  const out = new Map<string, { keys: K[]; values: string[] }>();
  for (const [k, values] of entries) {
    const key = JSON.stringify(values);
    const g = out.get(key) ?? { keys: [], values };
    g.keys.push(k);
    out.set(key, g);
  }
  return out;
}

/** The rules for the permissions of one scope. */
function rulesOf(perms: readonly Perm[]): PolicyRule[] {
  const unnamed = new Map<string, Map<string, Set<string>>>(); // group → resource → verbs
  const named = new Map<string, Set<string>>(); // [group, resource, verb] → names
  const urls = new Map<string, Set<string>>(); // url → verbs
  const all = new Set(
    perms.filter((p) => p.name === '').map((p) => JSON.stringify([p.apiGroup, p.resource, p.verb])),
  );
  for (const p of perms) {
    if (p.url !== undefined) {
      urls.set(p.url, (urls.get(p.url) ?? new Set()).add(p.verb));
    } else if (p.name === '') {
      const byRes = unnamed.get(p.apiGroup) ?? new Map<string, Set<string>>();
      byRes.set(p.resource, (byRes.get(p.resource) ?? new Set()).add(p.verb));
      unnamed.set(p.apiGroup, byRes);
    } else {
      const key = JSON.stringify([p.apiGroup, p.resource, p.verb]);
      if (all.has(key)) continue; // every name is already allowed
      named.set(key, (named.get(key) ?? new Set()).add(p.name));
    }
  }
  const rules: PolicyRule[] = [];
  for (const [group, byRes] of unnamed)
    for (const { keys, values } of groupBy([...byRes].map(([res, verbs]) => [res, sorted(verbs)])).values())
      rules.push({ apiGroups: [group], resources: sorted(keys), verbs: values });
  // Named: per group and resource, verbs sharing the same names; then resources sharing verbs and names.
  const perResource = new Map<string, Map<string, string[]>>(); // [group, resource] → verb → names
  for (const [key, names] of named) {
    const [group, res, verb] = JSON.parse(key) as [string, string, string];
    const k = JSON.stringify([group, res]);
    const m = perResource.get(k) ?? new Map<string, string[]>();
    m.set(verb, sorted(names));
    perResource.set(k, m);
  }
  const byGroupVerbsNames = new Map<
    string,
    { group: string; verbs: string[]; names: string[]; resources: string[] }
  >();
  for (const [k, verbNames] of perResource) {
    const [group, res] = JSON.parse(k) as [string, string];
    for (const { keys: verbs, values: names } of groupBy([...verbNames]).values()) {
      const vs = sorted(verbs);
      const gk = JSON.stringify([group, vs, names]);
      const g = byGroupVerbsNames.get(gk) ?? { group, verbs: vs, names, resources: [] };
      g.resources.push(res);
      byGroupVerbsNames.set(gk, g);
    }
  }
  for (const g of byGroupVerbsNames.values())
    rules.push({
      apiGroups: [g.group],
      resources: sorted(g.resources),
      verbs: g.verbs,
      resourceNames: g.names,
    });
  for (const { keys, values } of groupBy([...urls].map(([u, verbs]) => [u, sorted(verbs)])).values())
    rules.push({ nonResourceURLs: sorted(keys), verbs: values });
  return rules.sort((a, b) => cmp(ruleKey(a), ruleKey(b)));
}

const ruleKey = (r: PolicyRule) =>
  JSON.stringify([
    r.nonResourceURLs ? 1 : 0,
    r.apiGroups ?? [],
    r.resources ?? [],
    r.nonResourceURLs ?? [],
    r.resourceNames ?? [],
    r.verbs,
  ]);

/** A name for the generated objects: kubetrail:alice, kubetrail:group:devs, kubetrail:sa:ns1:sa1. */
export function defaultName(s: SubjectRef): string {
  const base =
    s.kind === 'User' ? s.name : s.kind === 'Group' ? `group:${s.name}` : `sa:${s.namespace}:${s.name}`;
  const safe = `kubetrail:${base}`.replace(/[/%\s]/g, '-');
  return safe;
}

/** The suggestion for one subject from the tallied requests. */
export function suggest(observations: readonly Observation[], opts: SuggestOptions): Suggestion {
  const mine = observations.filter(
    (o) =>
      madeBy(opts.subject, o.request) &&
      (opts.namespace === undefined ||
        (o.request.nonResourceURL === undefined && o.request.namespace === opts.namespace)),
  );
  const everyAllowed = mine.filter((o) => o.outcome === 'allowed');
  const allowed = opts.existing
    ? everyAllowed.filter((o) => !opts.existing!.allows(o.request))
    : everyAllowed;
  const perms = allowed.flatMap((o) => permsOf(o.request, opts));
  // A cluster-wide permission covers the same one in every namespace.
  const clusterWide = new Set(
    perms
      .filter((p) => p.scope === '' && p.url === undefined)
      .map((p) => JSON.stringify([p.apiGroup, p.resource, p.verb, p.name])),
  );
  const covered = (p: Perm) =>
    p.scope !== '' &&
    (clusterWide.has(JSON.stringify([p.apiGroup, p.resource, p.verb, ''])) ||
      clusterWide.has(JSON.stringify([p.apiGroup, p.resource, p.verb, p.name])));
  const byScope = new Map<string, Perm[]>();
  for (const p of perms) {
    if (covered(p)) continue;
    byScope.set(p.scope, [...(byScope.get(p.scope) ?? []), p]);
  }
  const name = opts.name ?? defaultName(opts.subject);
  const meta = (namespace?: string): ObjectMeta => ({
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    labels: { 'kubetrail.io/generated': 'true' },
    annotations: { 'kubetrail.io/subject': subjectText(opts.subject) },
  });
  const subject = bindingSubject(opts.subject);
  const objects: RbacObject[] = [];
  for (const scope of sorted(byScope.keys())) {
    const rules = rulesOf(byScope.get(scope)!);
    if (rules.length === 0) continue;
    if (scope === '') {
      objects.push({ apiVersion: RBAC_API_VERSION, kind: 'ClusterRole', metadata: meta(), rules });
      objects.push({
        apiVersion: RBAC_API_VERSION,
        kind: 'ClusterRoleBinding',
        metadata: meta(),
        roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
        subjects: [subject],
      });
    } else {
      objects.push({ apiVersion: RBAC_API_VERSION, kind: 'Role', metadata: meta(scope), rules });
      objects.push({
        apiVersion: RBAC_API_VERSION,
        kind: 'RoleBinding',
        metadata: meta(scope),
        roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name },
        subjects: [subject],
      });
    }
  }
  const set = setOf(objects);
  const ev = new RbacEvaluator(set);
  const refusedByKey = new Map<string, Refused>();
  for (const o of mine) {
    if (o.outcome !== 'denied') continue;
    const { groups: _g, user: _u, ...action } = o.request;
    const key = JSON.stringify(action);
    const r = refusedByKey.get(key);
    if (r) {
      r.count += o.count;
      r.last = Math.max(r.last, o.last);
    } else {
      refusedByKey.set(key, {
        request: o.request,
        count: o.count,
        last: o.last,
        grantedAnyway: ev.allows(o.request),
      });
    }
  }
  const refused = [...refusedByKey.entries()]
    .sort(([ka, a], [kb, b]) => cmp(describeRequest(a.request), describeRequest(b.request)) || cmp(ka, kb))
    .map(([, r]) => r);
  let first: number | undefined;
  let last: number | undefined;
  for (const o of mine) {
    first = first === undefined ? o.first : Math.min(first, o.first);
    last = last === undefined ? o.last : Math.max(last, o.last);
  }
  return {
    subject: opts.subject,
    objects,
    set,
    allowed,
    refused,
    alreadyAllowed: everyAllowed.length - allowed.length,
    ...(first !== undefined && last !== undefined ? { first, last } : {}),
  };
}

/** A request in words: `list pods in namespace ns1`, `get /healthz`, `update apps/deployments/scale web`. */
export function describeRequest(r: RbacRequest): string {
  if (r.nonResourceURL !== undefined) return `${r.verb} ${r.nonResourceURL}`;
  const res = `${r.apiGroup ? `${r.apiGroup}/` : ''}${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
  return `${r.verb} ${res}${r.name ? ` ${r.name}` : ''}${r.namespace ? ` in namespace ${r.namespace}` : ' (cluster-wide)'}`;
}
