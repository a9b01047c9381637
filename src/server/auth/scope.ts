// Scope enforcement: what a caller may see. A viewer's token carries a filter every event it sees must
// match; it is joined to every filter the viewer sends (events, aggregations, history, identity, alerts,
// the live stream), so no endpoint can reach past it. Without `bodies`, request and response objects are
// removed from every event a viewer receives, and the viewer may not name a body field anywhere (a filter,
// a grouping or split field, an autocomplete field, a policy-simulation need): `assertFilterAllowed` and
// `assertFieldAllowed` are the one guard, called by the API's shared filter and field helpers.
import { KubetrailError } from '../../core/errors.js';
import type { EventRecord } from '../../core/event.js';
import { resolveField } from '../../fields/catalog.js';
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

/** The event keys that hold request and response bodies. */
export const BODY_ROOTS: readonly string[] = ['requestObject', 'responseObject'];

const isBodySource = (source: string): boolean =>
  BODY_ROOTS.some(
    (root) => source === root || source.startsWith(`${root}.`) || source.startsWith(`${root}[`),
  );

/**
 * Whether a field name, as a filter or a parameter writes it, reads request or response bodies: a JSON
 * path under requestObject or responseObject (any letter case), or a catalog field read from them.
 */
export function isBodyField(name: string): boolean {
  const r = resolveField(name);
  if (!r) return false;
  if (r.kind === 'json') return BODY_ROOTS.includes(r.path[0]!);
  if (r.kind === 'column') return isBodySource(r.field.source);
  return false;
}

function bodyForbidden(p: Principal, param: string, field: string, column?: number): KubetrailError {
  return new KubetrailError(
    'KT_BODY_FORBIDDEN',
    `\`${param}\`${column !== undefined ? ` at column ${column}` : ''} names the body field ${JSON.stringify(field.slice(0, 200))}, ` +
      `and the token ${JSON.stringify(p.name)} may not see request or response bodies`,
    {
      where: { path: param, ...(column !== undefined ? { column } : {}) },
      hint: 'use metadata fields only (GET /api/v1/fields lists them), or ask an admin for a viewer token created with --bodies',
    },
  );
}

/** Throws KT_BODY_FORBIDDEN when the caller may not see bodies and `field` (parameter `param`) is one. */
export function assertFieldAllowed(p: Principal, param: string, field: string): void {
  if (!seesBodies(p) && isBodyField(field)) throw bodyForbidden(p, param, field);
}

/**
 * Throws KT_BODY_FORBIDDEN, with the parameter and the 1-based column, when the caller may not see bodies
 * and the filter names a body field in any term (match, comparison or `field:*`). Free-text terms search
 * only the catalog's text fields, none of which is read from bodies, so they stay allowed.
 */
export function assertFilterAllowed(p: Principal, param: string, filter: QueryNode): void {
  if (seesBodies(p)) return;
  // Iterative, so that no nesting depth can overflow the stack here.
  const stack: QueryNode[] = [filter];
  while (stack.length > 0) {
    const n = stack.pop()!;
    switch (n.type) {
      case 'and':
      case 'or':
        for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]!);
        break;
      case 'not':
        stack.push(n.child);
        break;
      case 'match':
      case 'compare':
      case 'exists':
        if (isBodyField(n.field))
          throw bodyForbidden(p, param, n.field, n.span !== undefined ? n.span.start + 1 : undefined);
        break;
      default:
        break;
    }
  }
}
