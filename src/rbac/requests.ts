// From audit events to the requests the authorizer saw: who made each one (the impersonated user when
// there is one; the real user then made an `impersonate` request for each part of the identity it took
// on), what it asked (API group, resource, subresource, namespace and name as RBAC matches them, or a
// non-resource path), whether it was allowed (`authorization.k8s.io/decision` where present, else any
// status but 401 and 403) and when; tallied per distinct request with a count and the first and last time.
import type { AuditEvent, UserInfo } from '../core/event.js';
import { eventTime, timeToMicros } from '../core/time.js';
import { effectiveGroups } from './evaluate.js';
import { splitServiceAccount, type RbacRequest } from './types.js';

/** Verbs whose request carries no object name to the authorizer (RBAC cannot limit them by resourceNames). */
export const UNNAMED_VERBS: ReadonlySet<string> = new Set(['create', 'list', 'watch', 'deletecollection']);

export type Outcome = 'allowed' | 'denied' | 'unauthenticated';

export interface Observation {
  request: RbacRequest;
  outcome: Outcome;
  count: number;
  /** Epoch microseconds of the first and last event. */
  first: number;
  last: number;
  /** Made by the real user to act as another (an impersonate permission it needed). */
  impersonation?: boolean;
}

/** How the API server decided: the authorization annotation where present, else from the status. */
export function outcomeOf(e: AuditEvent): Outcome | undefined {
  const decision = e.annotations?.['authorization.k8s.io/decision'];
  if (decision === 'allow') return 'allowed';
  if (decision === 'forbid') return 'denied';
  const code = e.responseStatus?.code;
  if (code === 401) return 'unauthenticated';
  if (code === 403) return 'denied';
  if (code === undefined && e.stage === 'RequestReceived') return undefined;
  return 'allowed';
}

/** The API group of an event's object (objectRef.apiGroup; an old `group/version` apiVersion otherwise). */
function apiGroupOf(e: AuditEvent): string {
  const ref = e.objectRef!;
  if (ref.apiGroup !== undefined) return ref.apiGroup;
  const v = ref.apiVersion ?? '';
  return v.includes('/') ? v.slice(0, v.indexOf('/')) : '';
}

/** The request an event records, as the authorizer saw it, made by `who`. */
export function requestOf(e: AuditEvent, who: UserInfo): RbacRequest {
  const user = who.username ?? '';
  const groups = effectiveGroups(user, who.groups ?? []).sort();
  const ref = e.objectRef;
  if (!ref?.resource) {
    const path = e.requestURI.split('?')[0]! || '/';
    return { user, groups, verb: e.verb, nonResourceURL: path };
  }
  const sub = ref.subresource ?? '';
  // The name the authorizer sees comes from the URL: a create names none (its subresources name their
  // parent); list, watch and deletecollection name none here (a metadata.name field selector is not read).
  const named = !UNNAMED_VERBS.has(e.verb) || (e.verb === 'create' && sub !== '');
  return {
    user,
    groups,
    verb: e.verb,
    apiGroup: apiGroupOf(e),
    resource: ref.resource,
    ...(sub ? { subresource: sub } : {}),
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    ...(named && ref.name ? { name: ref.name } : {}),
  };
}

/** The impersonate requests the real user made to act as `as` (the groups the API server adds aside). */
export function impersonationRequests(real: UserInfo, as: UserInfo): RbacRequest[] {
  const user = real.username ?? '';
  const groups = effectiveGroups(user, real.groups ?? []).sort();
  const base = { user, groups, verb: 'impersonate' };
  const out: RbacRequest[] = [];
  const name = as.username ?? '';
  const sa = splitServiceAccount(name);
  const automatic = new Set(['system:authenticated']);
  if (sa) {
    out.push({ ...base, apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name });
    automatic.add('system:serviceaccounts').add(`system:serviceaccounts:${sa.namespace}`);
  } else if (name !== '') {
    out.push({ ...base, apiGroup: '', resource: 'users', name });
  }
  for (const g of as.groups ?? [])
    if (!automatic.has(g)) out.push({ ...base, apiGroup: '', resource: 'groups', name: g });
  if (as.uid) out.push({ ...base, apiGroup: 'authentication.k8s.io', resource: 'uids', name: as.uid });
  for (const [key, values] of Object.entries(as.extra ?? {}))
    for (const v of values)
      out.push({
        ...base,
        apiGroup: 'authentication.k8s.io',
        resource: 'userextras',
        subresource: key,
        name: v,
      });
  return out;
}

/** Tallies the requests of events, one entry per distinct request and outcome. */
export class RequestTally {
  private readonly byKey = new Map<string, Observation>();
  /** auditIDs of ResponseStarted events, so that their ResponseComplete is not counted again. */
  private readonly started = new Set<string>();
  events = 0;

  constructor(private readonly accept: (r: RbacRequest) => boolean = () => true) {}

  /** Counts an event's requests; `range` (epoch µs, until exclusive) drops events outside it. */
  add(e: AuditEvent, range?: { since?: number; until?: number }): void {
    const t = timeToMicros(eventTime(e)) ?? 0;
    if (range?.since !== undefined && t < range.since) return;
    if (range?.until !== undefined && t >= range.until) return;
    if (e.stage === 'ResponseStarted') this.started.add(e.auditID);
    else if (e.stage === 'ResponseComplete' && this.started.delete(e.auditID)) return;
    const outcome = outcomeOf(e);
    if (outcome === undefined) return;
    let counted = false;
    if (e.impersonatedUser) {
      // The impersonation itself was allowed: a refused one ends the request before it is attributed.
      for (const r of impersonationRequests(e.user, e.impersonatedUser))
        counted = this.note(r, 'allowed', t, true) || counted;
    }
    counted = this.note(requestOf(e, e.impersonatedUser ?? e.user), outcome, t) || counted;
    if (counted) this.events++;
  }

  private note(request: RbacRequest, outcome: Outcome, t: number, impersonation = false): boolean {
    if (!this.accept(request)) return false;
    const key = JSON.stringify([request, outcome]);
    const o = this.byKey.get(key);
    if (o) {
      o.count++;
      o.first = Math.min(o.first, t);
      o.last = Math.max(o.last, t);
    } else {
      this.byKey.set(key, {
        request,
        outcome,
        count: 1,
        first: t,
        last: t,
        ...(impersonation ? { impersonation } : {}),
      });
    }
    return true;
  }

  observations(): Observation[] {
    return [...this.byKey.values()];
  }
}
