// Resolves a field named on its own, outside a filter (a group-by, facet, top-values or split field):
// an unknown name, or a JSON path longer than the filter language accepts, is refused with the same
// codes a filter gets, naming the flag or parameter it came from.
import { KubetrailError } from '../core/errors.js';
import { resolveField, suggestField, type ResolvedField } from '../fields/catalog.js';
import { MAX_JSON_PATH_STEPS } from './syntax/parser.js';

/** The field `name`, given as `where` (`--by`, `field`, `split`); throws KT_QUERY_FIELD or KT_QUERY_LIMIT. */
export function resolveNamedField(name: string, where: string, hint?: string): ResolvedField {
  const f = resolveField(name);
  if (!f) {
    const s = suggestField(name);
    throw new KubetrailError('KT_QUERY_FIELD', `unknown field ${JSON.stringify(name)} for \`${where}\``, {
      where: { path: where },
      ...(s ? { hint: `did you mean \`${s}\`?` } : hint ? { hint } : {}),
    });
  }
  if (f.kind === 'json' && f.path.length > MAX_JSON_PATH_STEPS) {
    throw new KubetrailError(
      'KT_QUERY_LIMIT',
      `the path given for \`${where}\` has ${f.path.length} steps; the most accepted is ${MAX_JSON_PATH_STEPS}`,
      { where: { path: where }, hint: 'shorten the path (docs/query-language.md, "Limits")' },
    );
  }
  return f;
}
