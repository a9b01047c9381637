// Lints an audit policy beyond what the API server refuses: rules that can never match because an earlier
// rule takes all their requests, credential bodies logged (Secrets, ConfigMaps, TokenReviews,
// TokenRequests at Request or above), no catch-all rule, RequestReceived kept, list/watch responses
// logged, health checks and lease renewals logged, groups and resources that do not exist, unknown verbs,
// `*` where it is a literal, and features newer than the target API server. Reachability is decided by
// evaluating the whole policy on concrete probe requests (probes.ts), so earlier rules are taken into
// account; rule coverage is in coverage.ts.
import type { Stage } from '../core/event.js';
import { BUILTIN_RESOURCES, groupOfResource, KNOWN_VERBS, REMOVED_GROUPS } from './api-groups.js';
import { evaluate, levelRank } from './evaluate.js';
import type { LoadedPolicy } from './load.js';
import { isCatchAll, ruleCovers, scopeOf } from './coverage.js';
import { baseAttrs, describeRequest, resourceProbes, targetsOf, type Target } from './probes.js';
import type { Policy, Problem, RequestAttributes } from './types.js';

export interface LintOptions {
  /** Kubernetes version of the target API server (`1.31`); features newer than it are flagged. */
  kubernetesVersion?: string;
}

const ALL_VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

const CREDENTIALS: (Target & { label: string })[] = [
  { group: '', resource: 'secrets', label: 'Secrets' },
  { group: '', resource: 'configmaps', label: 'ConfigMaps' },
  { group: 'authentication.k8s.io', resource: 'tokenreviews', clusterScoped: true, label: 'TokenReviews' },
  {
    group: '',
    resource: 'serviceaccounts',
    subresource: 'token',
    label: 'TokenRequests (serviceaccounts/token)',
  },
];

const HEALTH_PATHS = ['/healthz', '/livez', '/readyz', '/healthz/etcd', '/livez/ping', '/readyz/shutdown'];
const HEALTH_USERS = [
  { name: 'system:anonymous', groups: ['system:unauthenticated'] },
  {
    name: 'system:serviceaccount:monitoring:prometheus',
    groups: ['system:serviceaccounts', 'system:authenticated'],
  },
];
const LEASE_PROBES: RequestAttributes[] = [
  ...['get', 'update', 'patch'].map((verb) => ({
    ...baseAttrs(),
    verb,
    namespace: 'kube-node-lease',
    apiGroup: 'coordination.k8s.io',
    resource: 'leases',
    name: 'node-1',
    user: { name: 'system:node:node-1', groups: ['system:nodes', 'system:authenticated'] },
  })),
  ...['system:kube-controller-manager', 'system:kube-scheduler'].flatMap((name) =>
    ['get', 'update'].map((verb) => ({
      ...baseAttrs(),
      verb,
      namespace: 'kube-system',
      apiGroup: 'coordination.k8s.io',
      resource: 'leases',
      name: name.replace('system:', ''),
      user: { name, groups: ['system:authenticated'] },
    })),
  ),
];

function versionAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}

/** Lint findings for a loaded policy (the loader's own problems first, then lint warnings). */
export function lintPolicy(loaded: LoadedPolicy, opts: LintOptions = {}): Problem[] {
  const found: Problem[] = [...loaded.problems];
  if (found.some((p) => p.severity === 'error')) return found;
  const policy: Policy = loaded.policy;
  const warn = (id: string, path: string, message: string) => {
    const at = loaded.positionOf(path);
    found.push({
      severity: 'warning',
      id,
      message,
      path,
      ...(loaded.file !== undefined ? { file: loaded.file } : {}),
      ...(at ? { line: at.line, column: at.column } : {}),
    });
  };
  const rules = policy.rules;

  // Shadowed rules.
  const shadowed = new Set<number>();
  rules.forEach((rule, j) => {
    for (let i = 0; i < j; i++) {
      if (ruleCovers(rules[i]!, rule)) {
        shadowed.add(j);
        warn(
          'shadowed-rule',
          `rules[${j}]`,
          `rules[${j}] is never used: rules[${i}] comes first and matches every request it matches (the first matching rule wins)`,
        );
        break;
      }
    }
  });

  // Credentials logged with their bodies.
  rules.forEach((rule, i) => {
    if (shadowed.has(i) || levelRank(rule.level) < levelRank('Request') || scopeOf(rule) === 'nonresource')
      return;
    const leaks: string[] = [];
    let example: RequestAttributes | undefined;
    for (const t of CREDENTIALS) {
      const hit = resourceProbes(rule, t, ALL_VERBS).find((a) => evaluate(policy, a).rule === i);
      if (hit) {
        leaks.push(t.label);
        example ??= hit;
      }
    }
    if (leaks.length > 0)
      warn(
        'credential-bodies',
        `rules[${i}].level`,
        `rules[${i}] logs ${leaks.join(', ')} at ${rule.level} (e.g. ${describeRequest(example!)}): their bodies carry credentials, which then sit in the audit log; log them at Metadata in an earlier rule`,
      );
  });

  // No catch-all.
  if (!rules.some(isCatchAll))
    warn(
      'no-catch-all',
      'rules',
      'no catch-all rule: requests that match no rule are not logged at all; end with a rule that has only a level (e.g. `- level: Metadata`)',
    );

  // RequestReceived kept.
  const policyOmits = (s: Stage) => (policy.omitStages ?? []).includes(s);
  if (!policyOmits('RequestReceived')) {
    const keeping = rules
      .map((r, i) => ({ r, i }))
      .filter(
        ({ r, i }) =>
          r.level !== 'None' && !shadowed.has(i) && !(r.omitStages ?? []).includes('RequestReceived'),
      );
    if (keeping.length > 0)
      warn(
        'request-received-logged',
        policy.omitStages ? 'omitStages' : '',
        `RequestReceived is not omitted, neither by the policy nor by ${keeping
          .slice(0, 5)
          .map(({ i }) => `rules[${i}]`)
          .join(
            ', ',
          )}${keeping.length > 5 ? ', …' : ''}: every request is logged twice; add \`omitStages: [RequestReceived]\` at the top`,
      );
  }

  // ResponseStarted omitted: failed authentications (401) are logged only at ResponseStarted.
  if (policyOmits('ResponseStarted'))
    warn(
      'response-started-omitted',
      'omitStages',
      'omitStages includes ResponseStarted: failed authentications (401) are logged only at that stage, so every 401 is lost',
    );
  rules.forEach((r, i) => {
    if (policyOmits('ResponseStarted') || r.level === 'None' || shadowed.has(i)) return;
    if ((r.users?.length ?? 0) > 0 || (r.userGroups?.length ?? 0) > 0) return;
    const idx = (r.omitStages ?? []).indexOf('ResponseStarted');
    if (idx >= 0)
      warn(
        'response-started-omitted',
        `rules[${i}].omitStages[${idx}]`,
        `rules[${i}] omits ResponseStarted: failed authentications (401) it matches are logged only at that stage and are lost`,
      );
  });

  // list and watch responses.
  rules.forEach((rule, i) => {
    if (shadowed.has(i) || rule.level !== 'RequestResponse' || scopeOf(rule) === 'nonresource') return;
    const hit = targetsOf(rule)
      .flatMap((t) => resourceProbes(rule, t, ['list', 'watch']))
      .find((a) => evaluate(policy, a).rule === i);
    if (hit)
      warn(
        'list-watch-bodies',
        `rules[${i}].level`,
        `rules[${i}] logs list/watch at RequestResponse (e.g. ${describeRequest(hit)}): every response is a whole collection or a stream, the biggest events there are; log reads at Metadata or Request`,
      );
  });

  // Health checks and leases.
  const noisy = new Map<number, string[]>();
  const note = (a: RequestAttributes) => {
    const d = evaluate(policy, a);
    if (d.level === 'None' || d.rule === null) return;
    const list = noisy.get(d.rule) ?? [];
    const what = describeRequest(a);
    if (!list.includes(what)) list.push(what);
    noisy.set(d.rule, list);
  };
  for (const path of HEALTH_PATHS)
    for (const user of HEALTH_USERS) note({ ...baseAttrs(), resourceRequest: false, path, user });
  for (const a of LEASE_PROBES) note(a);
  for (const [i, list] of [...noisy.entries()].sort((a, b) => a[0] - b[0]))
    warn(
      'noise-logged',
      `rules[${i}]`,
      `rules[${i}] logs health checks or lease renewals (${list.slice(0, 3).join('; ')}${list.length > 3 ? '; …' : ''}): high volume, no audit value; add a \`level: None\` rule for them before it`,
    );

  // Groups, resources, verbs, literal wildcards, version features.
  rules.forEach((rule, i) => {
    (rule.resources ?? []).forEach((gr, j) => {
      const p = `rules[${i}].resources[${j}]`;
      const group = gr.group ?? '';
      if (group === '*') {
        if (!versionAtLeast(opts.kubernetesVersion, 1, 36))
          warn(
            'group-wildcard',
            `${p}.group`,
            `${p}.group "*" is accepted only by Kubernetes 1.36 and later; older API servers refuse to load this policy`,
          );
      } else if (REMOVED_GROUPS[group]) {
        warn(
          'unknown-group',
          `${p}.group`,
          `API group ${JSON.stringify(group)} no longer exists: ${REMOVED_GROUPS[group]}`,
        );
      } else if (!(group in BUILTIN_RESOURCES) && (!group.includes('.') || group.endsWith('.k8s.io'))) {
        const hint =
          group === 'core' || group === 'v1'
            ? '; the core group is written as an empty string (group: "") or left out'
            : !group.includes('.')
              ? '; groups of custom resources contain a dot'
              : '';
        warn(
          'unknown-group',
          `${p}.group`,
          `API group ${JSON.stringify(group)} is not served by Kubernetes${hint}, so this entry matches nothing`,
        );
      }
      const known = BUILTIN_RESOURCES[group];
      (gr.resources ?? []).forEach((r, k) => {
        const base = r.split('/')[0]!;
        if (!known || base === '*' || known.includes(base)) return;
        const home = groupOfResource(base);
        const msg =
          home !== undefined
            ? `${JSON.stringify(base)} is in API group ${JSON.stringify(home)}, not ${group === '' ? 'the core group' : JSON.stringify(group)}: this entry never matches it${group === '' ? ' (a resources entry without a group means the core group only)' : ''}`
            : `API group ${group === '' ? '"" (core)' : JSON.stringify(group)} has no resource ${JSON.stringify(base)}`;
        warn('unknown-resource', `${p}.resources[${k}]`, msg);
      });
      (gr.resourceNames ?? []).forEach((n, k) => {
        if (n.includes('*'))
          warn(
            'literal-wildcard',
            `${p}.resourceNames[${k}]`,
            `"*" is not a wildcard in resourceNames: ${JSON.stringify(n)} matches only that exact name`,
          );
      });
    });
    (rule.verbs ?? []).forEach((v, k) => {
      const p = `rules[${i}].verbs[${k}]`;
      if (v.includes('*'))
        warn(
          'literal-wildcard',
          p,
          `"*" is not a wildcard in verbs: ${JSON.stringify(v)} matches no request; leave verbs out to match every verb`,
        );
      else if (!KNOWN_VERBS.includes(v))
        warn(
          'unknown-verb',
          p,
          `unknown verb ${JSON.stringify(v)}: audit events use ${KNOWN_VERBS.slice(0, 8).join(', ')} (and lower-case HTTP methods for non-resource URLs)`,
        );
    });
    for (const key of ['users', 'userGroups', 'namespaces'] as const) {
      (rule[key] ?? []).forEach((v, k) => {
        if (v.includes('*'))
          warn(
            'literal-wildcard',
            `rules[${i}].${key}[${k}]`,
            `"*" is not a wildcard in ${key}: ${JSON.stringify(v)} matches only that exact string`,
          );
      });
    }
    (rule.nonResourceURLs ?? []).forEach((u, k) => {
      if (!u.endsWith('/*')) return;
      const bare = u.slice(0, -2);
      if (
        !(rule.nonResourceURLs ?? []).some(
          (o) => o !== u && (o === bare || (o.endsWith('*') && bare.startsWith(o.replace(/\*+$/, '')))),
        )
      )
        warn(
          'url-prefix',
          `rules[${i}].nonResourceURLs[${k}]`,
          `${JSON.stringify(u)} does not match ${JSON.stringify(bare)} itself; use ${JSON.stringify(`${bare}*`)} or add ${JSON.stringify(bare)}`,
        );
    });
  });

  return found.sort(
    (a, b) =>
      (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}
