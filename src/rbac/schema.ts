// The zod schema of rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and ClusterRoleBinding,
// with the API server's validation of them (a rule needs verbs; a resource rule needs apiGroups and
// resources; non-resource URLs only in a ClusterRole and never beside resources; a ClusterRoleBinding
// names a ClusterRole; names that are path segments; namespaces where they belong). `strict` also
// refuses unknown keys and subjects without the apiGroup the API server would default: what kubetrail
// writes must pass it; what `kubectl get -o yaml` prints passes the lenient form.
import { z } from 'zod';
import { RBAC_API_VERSION, RBAC_GROUP } from './types.js';

const pathSegment = (what: string) =>
  z
    .string({ error: (i) => (i.input === undefined ? `${what} is required` : `${what} must be a string`) })
    .min(1, { error: `${what} must not be empty` })
    .refine((s) => s !== '.' && s !== '..' && !/[/%]/.test(s), {
      error: `${what} must be a path segment name (no "/" or "%", not "." or "..")`,
    });

const strings = z.array(z.string());

function ruleSchema(strict: boolean) {
  const shape = {
    verbs: strings.min(1, { error: 'a rule needs at least one verb' }),
    apiGroups: strings.optional(),
    resources: strings.optional(),
    resourceNames: strings.optional(),
    nonResourceURLs: strings.optional(),
  };
  return strict ? z.strictObject(shape) : z.looseObject(shape);
}

type RuleInput = { apiGroups?: string[]; resources?: string[]; nonResourceURLs?: string[] };

/** The API server's check of one rule; `namespaced` for a Role's rules. */
function checkRule(rule: RuleInput, namespaced: boolean, ctx: z.RefinementCtx, path: PropertyKey[]): void {
  const n = (a?: string[]) => a?.length ?? 0;
  if (n(rule.nonResourceURLs) > 0) {
    if (namespaced)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'nonResourceURLs'],
        message: 'a Role cannot hold non-resource URLs',
      });
    else if (n(rule.apiGroups) > 0 || n(rule.resources) > 0)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'nonResourceURLs'],
        message: 'a rule cannot apply to both resources and non-resource URLs',
      });
    return;
  }
  if (n(rule.apiGroups) === 0)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'apiGroups'],
      message: 'a resource rule needs apiGroups',
    });
  if (n(rule.resources) === 0)
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'resources'],
      message: 'a resource rule needs resources',
    });
}

function metaSchema(strict: boolean, namespaced: boolean) {
  const shape = {
    name: pathSegment('a name'),
    namespace: namespaced
      ? pathSegment('a namespace')
      : z.undefined({ error: 'a cluster-wide object has no namespace' }).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  };
  return strict ? z.strictObject(shape) : z.looseObject(shape);
}

const selector = z.looseObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.looseObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: strings.optional(),
      }),
    )
    .optional(),
});

function subjectSchema(strict: boolean) {
  return z
    .looseObject({
      kind: z.enum(['User', 'Group', 'ServiceAccount']),
      name: z.string().min(1, { error: 'must not be empty' }),
      namespace: z.string().optional(),
      apiGroup: z.string().optional(),
    })
    .superRefine((s, ctx) => {
      if (s.kind === 'ServiceAccount') {
        if (s.apiGroup)
          ctx.addIssue({
            code: 'custom',
            path: ['apiGroup'],
            message: 'a ServiceAccount subject has apiGroup ""',
          });
      } else if (s.apiGroup !== RBAC_GROUP && (strict || (s.apiGroup ?? '') !== '')) {
        ctx.addIssue({
          code: 'custom',
          path: ['apiGroup'],
          message: `a ${s.kind} subject has apiGroup ${RBAC_GROUP}`,
        });
      }
    });
}

/** The schema of one RBAC object; `strict` for what kubetrail writes. */
export function rbacObjectSchema(strict = false) {
  const obj = strict ? z.strictObject : z.looseObject;
  const apiVersion = z.literal(RBAC_API_VERSION, { error: `must be ${RBAC_API_VERSION}` });
  const rule = ruleSchema(strict);
  const roleRef = (kinds: readonly ['Role', 'ClusterRole'] | readonly ['ClusterRole']) =>
    obj({
      apiGroup: z.literal(RBAC_GROUP, { error: `must be ${RBAC_GROUP}` }),
      kind: z.enum(kinds),
      name: pathSegment('the role name'),
    });
  const subjects = z.array(subjectSchema(strict)).optional();
  const role = obj({
    apiVersion,
    kind: z.literal('Role'),
    metadata: metaSchema(strict, true),
    rules: z.array(rule).default([]),
  }).superRefine((r, ctx) => r.rules.forEach((x, i) => checkRule(x, true, ctx, ['rules', i])));
  const clusterRole = obj({
    apiVersion,
    kind: z.literal('ClusterRole'),
    metadata: metaSchema(strict, false),
    rules: z.array(rule).default([]),
    aggregationRule: z.looseObject({ clusterRoleSelectors: z.array(selector).optional() }).optional(),
  }).superRefine((r, ctx) => r.rules.forEach((x, i) => checkRule(x, false, ctx, ['rules', i])));
  const roleBinding = obj({
    apiVersion,
    kind: z.literal('RoleBinding'),
    metadata: metaSchema(strict, true),
    subjects,
    roleRef: roleRef(['Role', 'ClusterRole'] as const),
  });
  const clusterRoleBinding = obj({
    apiVersion,
    kind: z.literal('ClusterRoleBinding'),
    metadata: metaSchema(strict, false),
    subjects,
    roleRef: roleRef(['ClusterRole'] as const),
  });
  return { role, clusterRole, roleBinding, clusterRoleBinding };
}

export const RBAC_KINDS = ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'] as const;
export type RbacKind = (typeof RBAC_KINDS)[number];

/** The schema for an object of this kind. */
export function schemaFor(kind: RbacKind, strict = false): z.ZodType {
  const s = rbacObjectSchema(strict);
  return {
    Role: s.role,
    ClusterRole: s.clusterRole,
    RoleBinding: s.roleBinding,
    ClusterRoleBinding: s.clusterRoleBinding,
  }[kind];
}

/** What is wrong with an RBAC object (`path: message` each), none when it is valid. */
export function rbacProblems(obj: unknown, strict = false): string[] {
  const kind = (obj as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !(RBAC_KINDS as readonly string[]).includes(kind))
    return [`kind: must be one of ${RBAC_KINDS.join(', ')}`];
  const r = schemaFor(kind as RbacKind, strict).safeParse(obj);
  return r.success
    ? []
    : r.error.issues.map((i) => `${i.path.map(String).join('.') || '(top)'}: ${i.message}`);
}
