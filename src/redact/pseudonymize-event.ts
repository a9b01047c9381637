// Pseudonymization of one audit event, run after redaction when configured: user names and uids (all, or
// only those that are e-mail addresses), source IPs, and the same people named in the response status
// message, in annotations and inside request and response bodies (RBAC subjects of kind User,
// `user`/`username` fields, e-mail addresses in any text). The pseudonyms come from the keyed Pseudonymizer
// (pseudonymize.ts); each changed place is recorded as a finding of the `pseudonym` rule.
import { REDACTED_ANNOTATION, type AuditEvent } from '../core/event.js';
import { isMarker } from './marker.js';
import { formatPath, type PathStep } from './paths.js';
import type { Pseudonymizer } from './pseudonymize.js';
import { isObj, RULES, type Obj, type Walk } from './walk.js';

/** Replaces the people named in the event by their pseudonyms, in place; each change is added to `w`. */
export function pseudonymizeEvent(e: AuditEvent, pz: Pseudonymizer, w: Walk): void {
  const o = pz.options;
  const users = new Map<string, string>();
  const change = (path: string) => w.findings.push({ path, rule: RULES.pseudonym });
  for (const who of ['user', 'impersonatedUser'] as const) {
    const u = e[who];
    const name = u?.username;
    if (!u || typeof name !== 'string' || name === '') continue;
    const isEmail = /@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(name);
    if (!(o.users || (o.emails && isEmail))) continue;
    const p = pz.user(name);
    if (p === name) continue;
    users.set(name, p);
    u.username = p;
    change(`${who}.username`);
    if (typeof u.uid === 'string' && u.uid !== '' && !/^u-[0-9a-f]{12}$/.test(u.uid)) {
      u.uid = pz.user(`uid:${u.uid}`);
      change(`${who}.uid`);
    }
  }
  if (o.sourceIPs && Array.isArray(e.sourceIPs)) {
    e.sourceIPs.forEach((ip, i) => {
      const p = pz.ip(ip);
      if (p !== ip) {
        e.sourceIPs![i] = p;
        change(`sourceIPs[${i}]`);
      }
    });
  }
  if (users.size === 0 && !o.emails) return;
  const text = (s: string, path: string): string => {
    const r = pz.text(s, users);
    if (r !== s) change(path);
    return r;
  };
  if (e.responseStatus && typeof e.responseStatus.message === 'string')
    e.responseStatus.message = text(e.responseStatus.message, 'responseStatus.message');
  if (e.annotations) {
    for (const [k, v] of Object.entries(e.annotations)) {
      if (k !== REDACTED_ANNOTATION && typeof v === 'string')
        e.annotations[k] = text(v, formatPath(['annotations', k]));
    }
  }
  for (const field of ['requestObject', 'responseObject'] as const) {
    const body = e[field];
    if (body !== undefined && body !== null && typeof body === 'object')
      pseudonymizeBody(body, pz, users, [field], change);
  }
}

/** People named inside bodies: RBAC subjects of kind User, `user`/`username` fields, e-mails in any text. */
function pseudonymizeBody(
  v: unknown,
  pz: Pseudonymizer,
  users: Map<string, string>,
  path: PathStep[],
  change: (path: string) => void,
): void {
  const o = pz.options;
  const visit = (container: Obj | unknown[], key: string | number, s: string) => {
    if (isMarker(s)) return;
    let r: string;
    const k = typeof key === 'string' ? key : '';
    const isUserField =
      k === 'username' ||
      k === 'user' ||
      (k === 'name' && !Array.isArray(container) && (container as Obj).kind === 'User');
    if (o.users && isUserField) r = pz.user(s);
    else r = pz.text(s, users);
    if (r !== s) {
      (container as Obj)[key as string] = r;
      change(formatPath([...path, key]));
    }
  };
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (typeof x === 'string') visit(v, i, x);
      else if (x !== null && typeof x === 'object') pseudonymizeBody(x, pz, users, [...path, i], change);
    });
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') visit(v, k, x);
    else if (x !== null && typeof x === 'object') pseudonymizeBody(x, pz, users, [...path, k], change);
  }
}
