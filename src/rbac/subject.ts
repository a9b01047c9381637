// Subjects as people name them (`user:NAME`, `group:NAME`, `serviceaccount:NAMESPACE:NAME`), as RBAC
// binding subjects, and whether a request was made by one.
import { KubetrailError } from '../core/errors.js';
import { RBAC_GROUP, serviceAccountUser, type RbacRequest, type Subject } from './types.js';

export type SubjectRef =
  | { kind: 'User'; name: string }
  | { kind: 'Group'; name: string }
  | { kind: 'ServiceAccount'; namespace: string; name: string };

export const SUBJECT_SYNTAX = 'user:NAME, group:NAME or serviceaccount:NAMESPACE:NAME';

/** Parses `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE:NAME` (also `sa:`); `flag` names the option. */
export function parseSubject(text: string, flag = '--subject'): SubjectRef {
  const i = text.indexOf(':');
  const kind = i < 0 ? '' : text.slice(0, i).toLowerCase();
  const rest = i < 0 ? '' : text.slice(i + 1);
  if ((kind === 'user' || kind === 'group') && rest !== '')
    return { kind: kind === 'user' ? 'User' : 'Group', name: rest };
  if (kind === 'serviceaccount' || kind === 'sa') {
    const sa = parseServiceAccount(rest, flag);
    return sa;
  }
  throw new KubetrailError('KT_USAGE', `${flag} ${JSON.stringify(text)} is not ${SUBJECT_SYNTAX}`, {
    where: { path: flag },
  });
}

/** Parses `NAMESPACE:NAME` (what --serviceaccount takes). */
export function parseServiceAccount(text: string, flag = '--serviceaccount'): SubjectRef {
  const parts = text.split(':');
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
    throw new KubetrailError('KT_USAGE', `${flag} takes NAMESPACE:NAME, not ${JSON.stringify(text)}`, {
      where: { path: flag },
    });
  return { kind: 'ServiceAccount', namespace: parts[0]!, name: parts[1]! };
}

/** The subject as text: `user:alice`, `group:devs`, `serviceaccount:ns1:sa1`. */
export function subjectText(s: SubjectRef | Subject): string {
  if (s.kind === 'ServiceAccount') return `serviceaccount:${s.namespace ?? ''}:${s.name}`;
  return `${s.kind === 'User' ? 'user' : 'group'}:${s.name}`;
}

/** The subject as a binding names it. */
export function bindingSubject(s: SubjectRef): Subject {
  if (s.kind === 'ServiceAccount') return { kind: 'ServiceAccount', name: s.name, namespace: s.namespace };
  return { kind: s.kind, apiGroup: RBAC_GROUP, name: s.name };
}

/** The subject of a binding as a reference (a RoleBinding's ServiceAccount defaults to its namespace). */
export function subjectRef(s: Subject, bindingNamespace = ''): SubjectRef {
  if (s.kind === 'ServiceAccount')
    return { kind: 'ServiceAccount', namespace: s.namespace || bindingNamespace, name: s.name };
  return { kind: s.kind, name: s.name };
}

/** Whether the request was made by this subject (as the user, or as one of the user's groups). */
export function madeBy(s: SubjectRef, r: RbacRequest): boolean {
  if (s.kind === 'User') return r.user === s.name;
  if (s.kind === 'ServiceAccount') return r.user === serviceAccountUser(s.namespace, s.name);
  return (r.groups ?? []).includes(s.name);
}
