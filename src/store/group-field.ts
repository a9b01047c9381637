// The field an aggregation (stats, a histogram's split) groups by, resolved through the catalog, or
// KT_QUERY_FIELD naming the closest known field: one answer for every back end.
import { KubetrailError } from '../core/errors.js';
import { resolveField, suggestField, type ResolvedField } from '../fields/catalog.js';

export function groupField(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) {
    const s = suggestField(name);
    throw new KubetrailError('KT_QUERY_FIELD', `unknown field ${JSON.stringify(name)}`, {
      ...(s ? { hint: `did you mean \`${s}\`?` } : {}),
    });
  }
  return f;
}
