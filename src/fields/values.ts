// Reads the values of any filter field from an event: catalog fields, annotations by key, and JSON paths
// into the event where arrays at any level of the path are crossed (every element is visited).
// Browser-safe.
import type { EventRecord } from '../core/event.js';
import { resolveField, type ResolvedField } from './catalog.js';

export type FieldValue = string | number | boolean;

function collectPath(node: unknown, path: readonly string[], i: number, out: FieldValue[]): void {
  if (node === null || node === undefined) return;
  if (Array.isArray(node)) {
    for (const el of node) collectPath(el, path, i, out);
    return;
  }
  if (i === path.length) {
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean') out.push(node);
    return;
  }
  if (typeof node !== 'object') return;
  const next = (node as Record<string, unknown>)[path[i]!];
  collectPath(next, path, i + 1, out);
}

/** Every value of a resolved field in one event (empty when the event lacks it). */
export function resolvedValues(r: EventRecord, f: ResolvedField): FieldValue[] {
  switch (f.kind) {
    case 'column': {
      const v = f.field.get(r);
      if (v === undefined) return [];
      return Array.isArray(v) ? (v as string[]).filter((x) => typeof x === 'string') : [v as string | number];
    }
    case 'annotation': {
      const v = r.event.annotations?.[f.key];
      return typeof v === 'string' ? [v] : [];
    }
    case 'json': {
      const out: FieldValue[] = [];
      const root = (r.event as unknown as Record<string, unknown>)[f.path[0]!];
      collectPath(root, f.path, 1, out);
      return out;
    }
  }
}

/** Every value of a field named as in a filter; empty for unknown names. */
export function fieldValues(r: EventRecord, name: string): FieldValue[] {
  const f = resolveField(name);
  return f ? resolvedValues(r, f) : [];
}
