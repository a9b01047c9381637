// JSON paths of redacted values, as listed in the `kubetrail.io/redacted` annotation and in scan reports:
// `requestObject.data.password`, `responseObject.items[3].data["tls.key"]`. A `#` marks a step into JSON
// text held in a string (`…annotations["kubectl.kubernetes.io/last-applied-configuration"]#.data.password`).
// Long lists are folded (indices become `[*]`) so that the annotation stays small.

/** A path step: an object key, an array index, or EMBEDDED for a step into JSON text. */
export type Segment = string | number;
export const EMBEDDED = Symbol('embedded');
export type PathStep = Segment | typeof EMBEDDED;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatPath(steps: readonly PathStep[]): string {
  let out = '';
  for (const s of steps) {
    if (s === EMBEDDED) out += '#';
    else if (typeof s === 'number') out += `[${s}]`;
    else if (IDENT.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}

/** Most paths listed one by one in the annotation; beyond that they are folded. */
export const MAX_LISTED_PATHS = 64;

/** Deduplicates paths in first-seen order and folds long lists so that the annotation stays bounded. */
export function summarizePaths(paths: readonly string[]): string[] {
  let list = [...new Set(paths)];
  if (list.length <= MAX_LISTED_PATHS) return list;
  list = [...new Set(list.map((p) => p.replace(/\[\d+\]/g, '[*]')))];
  if (list.length <= MAX_LISTED_PATHS) return list;
  const more = list.length - (MAX_LISTED_PATHS - 1);
  return [...list.slice(0, MAX_LISTED_PATHS - 1), `… ${more} more`];
}
