// Writes an audit Policy as readable YAML with a comment above each rule, the way people write them by
// hand: short lists inline, strings quoted whenever YAML (1.1 or 1.2) could read them as anything else.
import type { Policy, PolicyRule } from './types.js';

export interface CommentedRule {
  rule: PolicyRule;
  /** Comment lines written above the rule (without `#`). */
  comment?: string;
}

export interface PolicyDocument {
  /** Comment lines at the top of the file (without `#`). */
  header?: string;
  apiVersion?: string;
  omitStages?: Policy['omitStages'];
  omitManagedFields?: boolean;
  rules: CommentedRule[];
}

const PLAIN = /^[A-Za-z][A-Za-z0-9_.\-/]*$/;
const SPECIAL = /^(y|yes|n|no|true|false|on|off|null|~)$/i;

/** A YAML scalar for a string: plain when unambiguous, else double-quoted (JSON escapes are valid YAML). */
export function yamlString(s: string): string {
  return PLAIN.test(s) && !SPECIAL.test(s) ? s : JSON.stringify(s);
}

function flow(items: readonly string[]): string {
  return `[${items.map(yamlString).join(', ')}]`;
}

function comment(text: string, indent: string): string[] {
  return text.split('\n').map((l) => (l.trim() === '' ? `${indent}#` : `${indent}# ${l}`));
}

function ruleLines(rule: PolicyRule): string[] {
  const out = [`  - level: ${rule.level}`];
  const field = (key: string, v: readonly string[] | undefined, indent = '    ') => {
    if (!v || v.length === 0) return;
    const line = `${indent}${key}: ${flow(v)}`;
    if (line.length <= 110) out.push(line);
    else out.push(`${indent}${key}:`, ...v.map((x) => `${indent}  - ${yamlString(x)}`));
  };
  field('users', rule.users);
  field('userGroups', rule.userGroups);
  field('verbs', rule.verbs);
  field('namespaces', rule.namespaces);
  if (rule.resources && rule.resources.length > 0) {
    out.push('    resources:');
    for (const gr of rule.resources) {
      out.push(`      - group: ${JSON.stringify(gr.group ?? '')}`);
      field('resources', gr.resources, '        ');
      field('resourceNames', gr.resourceNames, '        ');
    }
  }
  field('nonResourceURLs', rule.nonResourceURLs);
  field('omitStages', rule.omitStages);
  if (rule.omitManagedFields !== undefined) out.push(`    omitManagedFields: ${rule.omitManagedFields}`);
  return out;
}

export function renderPolicy(doc: PolicyDocument): string {
  const out: string[] = [];
  if (doc.header) out.push(...comment(doc.header, ''));
  out.push(`apiVersion: ${doc.apiVersion ?? 'audit.k8s.io/v1'}`, 'kind: Policy');
  if (doc.omitStages?.length) out.push('omitStages:', ...doc.omitStages.map((s) => `  - ${s}`));
  if (doc.omitManagedFields !== undefined) out.push(`omitManagedFields: ${doc.omitManagedFields}`);
  out.push('rules:');
  doc.rules.forEach((r, i) => {
    if (i > 0 && r.comment) out.push('');
    if (r.comment) out.push(...comment(r.comment, '  '));
    out.push(...ruleLines(r.rule));
  });
  return `${out.join('\n')}\n`;
}

/** The policy a document describes (what the API server would load from its rendering). */
export function policyOf(doc: PolicyDocument): Policy {
  return {
    apiVersion: doc.apiVersion ?? 'audit.k8s.io/v1',
    kind: 'Policy',
    ...(doc.omitStages?.length ? { omitStages: doc.omitStages } : {}),
    ...(doc.omitManagedFields !== undefined ? { omitManagedFields: doc.omitManagedFields } : {}),
    rules: doc.rules.map((r) => r.rule),
  };
}
