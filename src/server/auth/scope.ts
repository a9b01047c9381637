// Scope enforcement: what a caller may see. A viewer's token carries a filter every event it sees must
// match; it is joined to every filter the viewer sends (events, aggregations, history, identity, alerts,
// the live stream), so no endpoint can reach past it. Without `bodies`, request and response objects are
// removed from every event a viewer receives.
import type { EventRecord } from '../../core/event.js';
import { compileJs, parseQuery, type Predicate, type QueryNode } from '../../query/index.js';
import type { Role } from './tokens.js';

export interface Principal {
  name: string;
  role: Role;
  scope?: string;
  bodies: boolean;
  cluster?: string;
  /** How the request was authenticated. */
  via: 'token' | 'session';
  /** With a session: its CSRF token. */
  csrfToken?: string;
  /** With a session: its id (for logout). */
  sessionId?: string;
}

/** The scope as a filter, or undefined when the caller sees every event. */
export function scopeNode(p: Principal): QueryNode | undefined {
  if (p.role !== 'viewer' || p.scope === undefined) return undefined;
  const node = parseQuery(p.scope);
  return node.type === 'all' ? undefined : node;
}

/** The caller's filter restricted to its scope. */
export function scoped(p: Principal, filter: QueryNode): QueryNode {
  const s = scopeNode(p);
  if (!s) return filter;
  if (filter.type === 'all') return s;
  return { type: 'and', children: [s, filter] };
}

/** A predicate for the caller's scope (every event when unscoped). */
export function scopePredicate(p: Principal): Predicate {
  const s = scopeNode(p);
  return s ? compileJs(s) : () => true;
}

/** Whether the caller may see request and response bodies. */
export function seesBodies(p: Principal): boolean {
  return p.role !== 'viewer' || p.bodies;
}

/** The record as the caller may see it. */
export function project(p: Principal, r: EventRecord): EventRecord {
  if (seesBodies(p)) return r;
  if (r.event.requestObject === undefined && r.event.responseObject === undefined) return r;
  const { requestObject: _q, responseObject: _r, ...event } = r.event;
  return { cluster: r.cluster, event };
}
