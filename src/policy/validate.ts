// The API server's validation of a decoded audit policy (ValidatePolicy): levels, stages, resource
// groups, non-resource URLs and the rule count, each problem reported at its field path.
import { LEVELS, STAGES, type Level } from '../core/event.js';
import type { Policy } from './types.js';
import { report, type Ctx } from './yaml-fields.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The API server's check of an API group name (a lower-case DNS subdomain). */
export function groupNameProblem(group: string): string | undefined {
  if (group.length > 253) return 'must be no more than 253 characters';
  if (!group.split('.').every((l) => DNS_LABEL.test(l)))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** The API server's validation of a decoded policy (ValidatePolicy, plus the reader's rule count). */
export function validate(ctx: Ctx, policy: Policy): void {
  const stageCheck = (stages: readonly string[] | undefined, path: string) => {
    stages?.forEach((s, i) => {
      if (!(STAGES as readonly string[]).includes(s)) {
        report(
          ctx,
          'error',
          'invalid-stage',
          `${path}[${i}]`,
          `${path}[${i}]: unknown stage ${JSON.stringify(s)}; allowed stages are ${STAGES.join(', ')}`,
        );
      }
    });
  };
  stageCheck(policy.omitStages, 'omitStages');
  policy.rules.forEach((rule, i) => {
    const path = `rules[${i}]`;
    if (rule.level === ('' as Level)) {
      report(
        ctx,
        'error',
        'missing-level',
        `${path}.level`,
        `${path}.level is required (${LEVELS.join(', ')})`,
      );
    } else if (!(LEVELS as readonly string[]).includes(rule.level)) {
      report(
        ctx,
        'error',
        'invalid-level',
        `${path}.level`,
        `${path}.level: unsupported value ${JSON.stringify(rule.level)}; supported values: ${LEVELS.join(', ')}`,
      );
    }
    rule.nonResourceURLs?.forEach((url, j) => {
      const p = `${path}.nonResourceURLs[${j}]`;
      if (url === '*') return;
      if (!url.startsWith('/'))
        report(
          ctx,
          'error',
          'invalid-url',
          p,
          `${p}: non-resource URL rules must begin with a '/' character`,
        );
      if (url !== '' && url.slice(0, -1).includes('*'))
        report(
          ctx,
          'error',
          'invalid-url',
          p,
          `${p}: non-resource URL wildcards '*' must be the final character of the rule`,
        );
    });
    rule.resources?.forEach((gr, j) => {
      const p = `${path}.resources[${j}]`;
      if (gr.group && gr.group !== '*') {
        const why = groupNameProblem(gr.group);
        if (why)
          report(
            ctx,
            'error',
            'invalid-group',
            `${p}.group`,
            `${p}.group: invalid API group ${JSON.stringify(gr.group)}: ${why}`,
          );
      }
      if ((gr.resourceNames?.length ?? 0) > 0 && (gr.resources?.length ?? 0) === 0)
        report(
          ctx,
          'error',
          'names-without-resources',
          `${p}.resourceNames`,
          `${p}.resourceNames: using resourceNames requires at least one resource`,
        );
    });
    stageCheck(rule.omitStages, `${path}.omitStages`);
    if (
      (rule.nonResourceURLs?.length ?? 0) > 0 &&
      ((rule.resources?.length ?? 0) > 0 || (rule.namespaces?.length ?? 0) > 0)
    )
      report(
        ctx,
        'error',
        'mixed-rule',
        `${path}.nonResourceURLs`,
        `${path}: rules cannot apply to both regular resources and non-resource URLs`,
      );
  });
  if (policy.rules.length === 0)
    report(ctx, 'error', 'no-rules', 'rules', 'the policy has no rules; the API server refuses to load it');
}
