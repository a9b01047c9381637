// Evaluates an audit Policy for one request exactly as kube-apiserver's policy checker does: the first
// matching rule wins; users, groups, verbs, namespaces and resource names match literally; resources match
// `*`, `resource/*` (bare resource included), `*/subresource` and `resource/subresource`; a resources entry
// without a group is the core group only; non-resource URLs match exactly, `*`, or as a prefix before a
// trailing `*`. Also derives the request attributes from a stored audit event.
import type { AuditEvent, Level, Stage } from '../core/event.js';
import { LEVELS, STAGES } from '../core/event.js';
import type { Decision, GroupResources, Policy, PolicyRule, RequestAttributes } from './types.js';

/** Level when no rule matches. */
export const DEFAULT_LEVEL: Level = 'None';

/** The union of stage lists, without duplicates, in stage order. */
export function unionStages(...lists: (readonly Stage[] | undefined)[]): Stage[] {
  const set = new Set<Stage>();
  for (const l of lists) for (const s of l ?? []) set.add(s);
  return STAGES.filter((s) => set.has(s));
}

/** The stages not in the list (the stages that are logged when `stages` are omitted). */
export function invertStages(stages: readonly Stage[]): Stage[] {
  return STAGES.filter((s) => !stages.includes(s));
}

/** Orders levels: None < Metadata < Request < RequestResponse. */
export function levelRank(level: Level): number {
  return LEVELS.indexOf(level);
}

const SETS = new WeakMap<readonly string[], Set<string>>();

/** Whether a policy list holds a value (exact match); long lists are looked up through a cached set. */
export function listHas(list: readonly string[], value: string): boolean {
  if (list.length <= 16) return list.includes(value);
  let set = SETS.get(list);
  if (!set) {
    set = new Set(list);
    SETS.set(list, set);
  }
  return set.has(value);
}

function ruleMatchesNonResource(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (attrs.resourceRequest) return false;
  return (rule.nonResourceURLs ?? []).some((spec) => pathMatches(attrs.path, spec));
}

/** Whether a request path matches one `nonResourceURLs` entry. */
export function pathMatches(path: string, spec: string): boolean {
  if (spec === '*') return true;
  if (spec === path) return true;
  if (spec.endsWith('*')) return path.startsWith(spec.replace(/\*+$/, ''));
  return false;
}

/** Whether one entry of a `resources` list matches the request's resource, subresource and name. */
export function groupResourceMatches(gr: GroupResources, attrs: RequestAttributes): boolean {
  const group = gr.group ?? '';
  if (group !== '*' && group !== attrs.apiGroup) return false;
  const resources = gr.resources ?? [];
  if (resources.length === 0) return true;
  const names = gr.resourceNames ?? [];
  if (names.length > 0 && !listHas(names, attrs.name)) return false;
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  for (const res of resources) {
    if (res === combined || res === '*') return true;
    if (attrs.subresource && res.startsWith('*/') && res.slice(2) === attrs.subresource) return true;
    if (res.endsWith('/*') && res.slice(0, -2) === attrs.resource) return true;
  }
  return false;
}

function ruleMatchesResource(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!attrs.resourceRequest) return false;
  const namespaces = rule.namespaces ?? [];
  if (namespaces.length > 0 && !listHas(namespaces, attrs.namespace)) return false;
  const resources = rule.resources ?? [];
  if (resources.length === 0) return true;
  return resources.some((gr) => groupResourceMatches(gr, attrs));
}

/** Whether a rule matches a request (the checker's ruleMatches). */
export function ruleMatches(rule: PolicyRule, attrs: RequestAttributes): boolean {
  const users = rule.users ?? [];
  if (users.length > 0 && (!attrs.user || !listHas(users, attrs.user.name))) return false;
  const groups = rule.userGroups ?? [];
  if (groups.length > 0 && (!attrs.user || !attrs.user.groups.some((g) => listHas(groups, g)))) return false;
  const verbs = rule.verbs ?? [];
  if (verbs.length > 0 && !listHas(verbs, attrs.verb)) return false;
  if ((rule.namespaces?.length ?? 0) > 0 || (rule.resources?.length ?? 0) > 0)
    return ruleMatchesResource(rule, attrs);
  if ((rule.nonResourceURLs?.length ?? 0) > 0) return ruleMatchesNonResource(rule, attrs);
  return true;
}

/** The decision for a request: level, stages to omit, whether to omit managed fields, and the rule. */
export function evaluate(policy: Policy, attrs: RequestAttributes): Decision {
  for (let i = 0; i < policy.rules.length; i++) {
    const rule = policy.rules[i]!;
    if (ruleMatches(rule, attrs)) {
      return {
        level: rule.level,
        omitStages: unionStages(policy.omitStages, rule.omitStages),
        omitManagedFields: rule.omitManagedFields ?? policy.omitManagedFields ?? false,
        rule: i,
      };
    }
  }
  return {
    level: DEFAULT_LEVEL,
    omitStages: unionStages(policy.omitStages),
    omitManagedFields: policy.omitManagedFields ?? false,
    rule: null,
  };
}

/** A compiled policy: evaluates many events quickly (caches decisions per distinct attribute set). */
export class PolicyEvaluator {
  private readonly cache = new Map<string, Decision>();

  constructor(readonly policy: Policy) {}

  evaluate(attrs: RequestAttributes): Decision {
    const key = [
      attrs.user ? `${attrs.user.name}\u0000${attrs.user.groups.join('\u0001')}` : '\u0002',
      attrs.verb,
      attrs.resourceRequest ? 'r' : 'n',
      attrs.namespace,
      attrs.apiGroup,
      attrs.resource,
      attrs.subresource,
      attrs.name,
      attrs.resourceRequest ? '' : attrs.path,
    ].join('\u0003');
    let d = this.cache.get(key);
    if (!d) {
      d = evaluate(this.policy, attrs);
      if (this.cache.size > 100_000) this.cache.clear();
      this.cache.set(key, d);
    }
    return d;
  }

  evaluateEvent(event: AuditEvent): Decision {
    return this.evaluate(attributesFromEvent(event));
  }
}

/** Splits a request URI into its path (no query string, no fragment). */
export function requestPath(uri: string): string {
  const q = uri.search(/[?#]/);
  return q < 0 ? uri : uri.slice(0, q);
}

/** Subresources of namespaces that kube-apiserver reads as `namespaces/{name}/{subresource}`. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * Resource attributes from a request path, as kube-apiserver's request-info parser derives them (used
 * when an event carries no objectRef). Undefined for non-resource paths.
 */
export function resourceFromPath(
  path: string,
): Pick<RequestAttributes, 'apiGroup' | 'namespace' | 'resource' | 'subresource' | 'name'> | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let rest: string[];
  let apiGroup = '';
  if (parts[0] === 'api') {
    if (parts.length < 3) return undefined;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 4) return undefined;
    apiGroup = parts[1]!;
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === 'watch') rest = rest.slice(1);
  let namespace = '';
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1]!;
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2]!)) rest = rest.slice(2);
  }
  if (rest.length === 0) return undefined;
  return {
    apiGroup,
    namespace,
    resource: rest[0] ?? '',
    name: rest[1] ?? '',
    subresource: rest[2] ?? '',
  };
}

/**
 * The attributes the policy saw for a logged request: the authenticated user before impersonation (none
 * for a failed authentication), the verb, the object reference (or the path parsed as kube-apiserver
 * does) and the path without its query string.
 */
export function attributesFromEvent(event: AuditEvent): RequestAttributes {
  const path = requestPath(typeof event.requestURI === 'string' ? event.requestURI : '');
  const u = event.user ?? {};
  const unauthenticated =
    event.responseStatus?.code === 401 || ((u.username ?? '') === '' && (u.groups?.length ?? 0) === 0);
  const attrs: RequestAttributes = {
    verb: typeof event.verb === 'string' ? event.verb : '',
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    resource: '',
    subresource: '',
    name: '',
    path,
  };
  if (!unauthenticated)
    attrs.user = { name: u.username ?? '', groups: Array.isArray(u.groups) ? u.groups.map(String) : [] };
  const ref = event.objectRef;
  if (ref && typeof ref.resource === 'string' && ref.resource !== '') {
    attrs.resourceRequest = true;
    attrs.resource = ref.resource;
    attrs.apiGroup = ref.apiGroup ?? '';
    attrs.subresource = ref.subresource ?? '';
    attrs.name = ref.name ?? '';
    attrs.namespace = ref.namespace ?? '';
    // kube-apiserver reads /api/v1/namespaces/foo as namespace foo, and logs it so; older exports omit it.
    if (ref.resource === 'namespaces' && attrs.apiGroup === '' && attrs.namespace === '' && attrs.name !== '')
      attrs.namespace = attrs.name;
    return attrs;
  }
  const parsed = resourceFromPath(path);
  if (parsed) Object.assign(attrs, parsed, { resourceRequest: true });
  return attrs;
}
