// RBAC objects as text: YAML documents ready for `kubectl apply -f` (with the refused requests and the
// range in a leading comment), or a v1 List as JSON. Text from events (names, paths) reaches comments
// only escaped, so that no value can end a comment line and become YAML.
import { stringify } from 'yaml';
import { microsToTime } from '../core/time.js';
import type { Suggestion } from './suggest.js';
import { describeRequest } from './suggest.js';
import { subjectText } from './subject.js';
import type { RbacObject } from './types.js';

/** A value for a comment line: control characters (line breaks included) escaped. */
export function commentSafe(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** YAML documents, `---` between them. */
export function objectsYaml(objects: readonly RbacObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

/** The comment that heads a suggestion: subject, what it is drawn from, and the refused requests. */
export function suggestionComment(s: Suggestion): string[] {
  const events = s.allowed.reduce((n, o) => n + o.count, 0);
  const lines = [
    `kubetrail rbac suggest for ${subjectText(s.subject)}: ${events} allowed request${events === 1 ? '' : 's'} (${s.allowed.length} distinct)` +
      (s.first !== undefined && s.last !== undefined
        ? ` from ${microsToTime(s.first)} to ${microsToTime(s.last)}`
        : ''),
  ];
  if (s.alreadyAllowed > 0)
    lines.push(
      `${s.alreadyAllowed} distinct allowed requests left out: the given RBAC objects already allow them`,
    );
  if (s.objects.length === 0) lines.push('nothing left to grant: no objects to suggest');
  const refused = s.refused.filter((r) => !r.grantedAnyway);
  const later = s.refused.filter((r) => r.grantedAnyway);
  if (refused.length > 0) {
    lines.push('asked for and refused (not granted here):');
    for (const r of refused)
      lines.push(`  ${describeRequest(r.request)} (${r.count}×, last ${microsToTime(r.last)})`);
  }
  if (later.length > 0) {
    lines.push('refused at times, allowed at others (granted here):');
    for (const r of later)
      lines.push(`  ${describeRequest(r.request)} (${r.count}× refused, last ${microsToTime(r.last)})`);
  }
  return lines.map(commentSafe);
}

/** The suggestion as YAML for `kubectl apply -f`, headed by its comment. */
export function suggestionYaml(s: Suggestion): string {
  const head = suggestionComment(s)
    .map((l) => `# ${l}\n`)
    .join('');
  return s.objects.length === 0 ? head : `${head}${objectsYaml(s.objects)}`;
}

/** The suggestion as a v1 List (also accepted by `kubectl apply -f`). */
export function suggestionJson(s: Suggestion): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: s.objects }, null, 2)}\n`;
}
