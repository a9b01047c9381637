// Whether one policy rule matches every request another one does (so the later one can never decide),
// and whether a rule is a catch-all: decided on the rules' lists, users, groups, resources and URLs,
// with the API server's wildcard semantics. The linter's shadowed-rule check is built on it.
import { listHas } from './evaluate.js';
import type { GroupResources, PolicyRule } from './types.js';

function listCovers(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || a.length === 0) return true;
  if (!b || b.length === 0) return false;
  return b.every((x) => listHas(a, x));
}

export type Scope = 'any' | 'resource' | 'nonresource';
export function scopeOf(r: PolicyRule): Scope {
  if ((r.namespaces?.length ?? 0) > 0 || (r.resources?.length ?? 0) > 0) return 'resource';
  if ((r.nonResourceURLs?.length ?? 0) > 0) return 'nonresource';
  return 'any';
}

function urlCovers(a: string, b: string): boolean {
  if (a === '*' || a === b) return true;
  if (b === '*') return false;
  if (!a.endsWith('*')) return false;
  const prefix = a.replace(/\*+$/, '');
  return b.replace(/\*+$/, '').startsWith(prefix);
}

function resourceCovers(a: string, b: string): boolean {
  if (a === '*' || a === b) return true;
  if (a.endsWith('/*')) {
    const base = a.slice(0, -2);
    return b === base || b.startsWith(`${base}/`);
  }
  if (a.startsWith('*/')) {
    const parts = b.split('/');
    return parts.length === 2 && parts[1] === a.slice(2);
  }
  return false;
}

function groupResourceCovers(a: GroupResources, b: GroupResources): boolean {
  const ga = a.group ?? '';
  if (ga !== '*' && ga !== (b.group ?? '')) return false;
  const ra = a.resources ?? [];
  if (ra.length === 0) return true;
  const namesA = a.resourceNames ?? [];
  const rb = b.resources ?? [];
  if (rb.length === 0) return ra.includes('*') && namesA.length === 0;
  if (namesA.length > 0 && !listCovers(namesA, b.resourceNames)) return false;
  return rb.every((x) => ra.some((y) => resourceCovers(y, x)));
}

/** Whether rule `a` matches every request that rule `b` matches. */
export function ruleCovers(a: PolicyRule, b: PolicyRule): boolean {
  if (
    !listCovers(a.users, b.users) ||
    !listCovers(a.userGroups, b.userGroups) ||
    !listCovers(a.verbs, b.verbs)
  )
    return false;
  const sa = scopeOf(a);
  if (sa === 'any') return true;
  if (sa !== scopeOf(b)) return false;
  if (sa === 'nonresource')
    return (b.nonResourceURLs ?? []).every((u) => (a.nonResourceURLs ?? []).some((v) => urlCovers(v, u)));
  if (!listCovers(a.namespaces, b.namespaces)) return false;
  const ra = a.resources ?? [];
  if (ra.length === 0) return true;
  const rb = b.resources ?? [];
  if (rb.length === 0)
    return ra.some(
      (g) =>
        g.group === '*' && (g.resources ?? []).every((r) => r === '*') && !(g.resourceNames?.length ?? 0),
    );
  return rb.every((x) => ra.some((y) => groupResourceCovers(y, x)));
}

/** A rule with no conditions: it matches every request. */
export function isCatchAll(r: PolicyRule): boolean {
  return (
    !(r.users?.length ?? 0) &&
    !(r.userGroups?.length ?? 0) &&
    !(r.verbs?.length ?? 0) &&
    !(r.namespaces?.length ?? 0) &&
    !(r.resources?.length ?? 0) &&
    !(r.nonResourceURLs?.length ?? 0)
  );
}
