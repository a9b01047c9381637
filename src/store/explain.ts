// `kubetrail query --explain`: how a filter runs on the store a location names, without opening the store
// or running anything. Each back end explains its own dialect (src/store/*/explain.ts); this finds the
// back end through the registry.
import type { QueryNode } from '../query/syntax/ast.js';
import { backendFor } from './open.js';
import type { TimeRange } from './store.js';

export function explainQuery(
  location: string,
  filter: QueryNode,
  range: TimeRange = {},
  now: number = Date.now(),
  encrypted = false,
): string {
  return backendFor(location).explain(location, filter, range, now, encrypted);
}
