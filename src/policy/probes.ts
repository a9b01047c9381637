// Concrete probe requests for the policy linter: the resources a rule names (wildcards replaced by a
// representative), the users and groups it applies to, and every request built from them that the rule
// matches, so a check can evaluate the whole policy on them and see which rule decides.
import { BUILTIN_RESOURCES } from './api-groups.js';
import { ruleMatches } from './evaluate.js';
import type { PolicyRule, RequestAttributes } from './types.js';

export interface Target {
  group: string;
  resource: string;
  subresource?: string;
  clusterScoped?: boolean;
}

export function baseAttrs(): RequestAttributes {
  return {
    verb: 'get',
    resourceRequest: true,
    namespace: '',
    apiGroup: '',
    resource: '',
    subresource: '',
    name: '',
    path: '',
  };
}

/** Users a probe may come from: the rule's own users and groups, else an ordinary authenticated user. */
export function probeUsers(rule: PolicyRule): RequestAttributes['user'][] {
  // A few of each are enough to find a request that reaches the rule; this bounds the work on huge lists.
  const groups = rule.userGroups?.length
    ? rule.userGroups.slice(0, 4).map((g) => [g, 'system:authenticated'])
    : [['system:authenticated']];
  const names = rule.users?.length ? rule.users.slice(0, 4) : ['kubetrail-lint-probe'];
  return names.flatMap((name) => groups.map((g) => ({ name, groups: g })));
}

/** Concrete requests for a target resource that the rule matches; caller filters by the deciding rule. */
export function resourceProbes(
  rule: PolicyRule,
  target: Target,
  verbs: readonly string[],
): RequestAttributes[] {
  const out: RequestAttributes[] = [];
  const ruleVerbs = rule.verbs?.length ? verbs.filter((v) => rule.verbs!.includes(v)) : verbs;
  const namespaces = target.clusterScoped
    ? ['']
    : [...new Set([...(rule.namespaces ?? []).slice(0, 6), 'default', 'kube-system', ''])];
  const names = [
    ...new Set([...(rule.resources ?? []).flatMap((g) => g.resourceNames ?? []).slice(0, 4), 'probe']),
  ];
  for (const user of probeUsers(rule))
    for (const verb of ruleVerbs)
      for (const namespace of namespaces)
        for (const name of verb === 'list' || verb === 'watch' || verb === 'create'
          ? ['', ...names]
          : names) {
          const a: RequestAttributes = {
            ...baseAttrs(),
            verb,
            namespace,
            apiGroup: target.group,
            resource: target.resource,
            subresource: target.subresource ?? '',
            name,
          };
          if (user) a.user = user;
          if (ruleMatches(rule, a)) out.push(a);
        }
  return out;
}

/** Concrete resources a rule names, for probing (wildcards replaced by a representative). */
export function targetsOf(rule: PolicyRule): Target[] {
  if (!(rule.resources?.length ?? 0))
    return [
      { group: '', resource: 'pods' },
      { group: 'apps', resource: 'deployments' },
      { group: 'example.com', resource: 'widgets' },
    ];
  const out: Target[] = [];
  for (const gr of (rule.resources ?? []).slice(0, 20)) {
    const group = gr.group === '*' ? '' : (gr.group ?? '');
    const list = gr.resources?.length ? gr.resources : ['*'];
    for (const r of list) {
      if (r === '*')
        out.push({ group, resource: group === '' ? 'pods' : (BUILTIN_RESOURCES[group]?.[0] ?? 'widgets') });
      else if (r.endsWith('/*')) out.push({ group, resource: r.slice(0, -2) });
      else if (r.startsWith('*/')) out.push({ group, resource: 'pods', subresource: r.slice(2) });
      else {
        const [resource, subresource] = r.split('/');
        out.push({ group, resource: resource!, ...(subresource ? { subresource } : {}) });
      }
    }
  }
  return out;
}

export function describeRequest(a: RequestAttributes): string {
  if (!a.resourceRequest) return `${a.verb.toUpperCase()} ${a.path}${a.user ? ` by ${a.user.name}` : ''}`;
  const res = `${a.apiGroup ? `${a.apiGroup}/` : ''}${a.resource}${a.subresource ? `/${a.subresource}` : ''}`;
  return `${a.verb} ${res}${a.namespace ? ` in ${a.namespace}` : ''}${a.user ? ` by ${a.user.name}` : ''}`;
}
