// Applies the patches the API server accepts to a known object, so that an object's state can be rebuilt
// from its writes when the log holds the request but not the resulting object: JSON patch (RFC 6902,
// through fast-json-patch), JSON merge patch (RFC 7386), strategic merge patch with the list merge keys
// of the built-in kinds and its directives ($patch, $retainKeys, $deleteFromPrimitiveList,
// $setElementOrder), and server-side apply approximated as a strategic merge of the applied
// configuration. The audit log does not record a patch's content type: it is inferred from the body and
// the kind (see inferPatchType). Nothing here invents a value: a patch that cannot be applied is reported.
import jsonpatch, { type Operation } from 'fast-json-patch';

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * List merge keys of the built-in kinds' strategic merge patch (the `patchMergeKey` tags of the Go
 * types), by field name. Where one field name has different keys in different types (`ports`: a
 * container's by `containerPort`, a Service's by `port`), the first key an item carries is used.
 */
export const MERGE_KEYS: Readonly<Record<string, readonly string[]>> = {
  containers: ['name'],
  initContainers: ['name'],
  ephemeralContainers: ['name'],
  volumes: ['name'],
  volumeMounts: ['mountPath'],
  volumeDevices: ['devicePath'],
  env: ['name'],
  ports: ['containerPort', 'port'],
  imagePullSecrets: ['name'],
  hostAliases: ['ip'],
  ownerReferences: ['uid'],
  conditions: ['type'],
  addresses: ['type'],
  topologySpreadConstraints: ['topologyKey'],
  resourceClaims: ['name'],
  schedulingGates: ['name'],
  taints: ['key'],
};

/** Lists of plain values that a strategic merge patch merges (union) instead of replacing. */
export const MERGED_PRIMITIVE_LISTS: ReadonlySet<string> = new Set(['finalizers']);

/** API groups whose kinds support strategic merge patch (custom resources do not). */
const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'autoscaling',
  'policy',
  'networking.k8s.io',
  'rbac.authorization.k8s.io',
  'storage.k8s.io',
  'coordination.k8s.io',
  'scheduling.k8s.io',
  'node.k8s.io',
  'discovery.k8s.io',
  'certificates.k8s.io',
  'admissionregistration.k8s.io',
]);

export class PatchError extends Error {}

const DIRECTIVE_ORDER = '$setElementOrder/';
const DIRECTIVE_DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** True when a body holds a strategic merge patch directive anywhere. */
function hasDirective(v: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (Array.isArray(v)) return v.some((x) => hasDirective(x, depth + 1));
  if (!isObject(v)) return false;
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) return true;
    if (hasDirective(x, depth + 1)) return true;
  }
  return false;
}

/**
 * The patch type of a logged patch: an array is a JSON patch; a request whose URI forces ownership, or a
 * body that is a whole configuration (apiVersion, kind and metadata.name) sent with a field manager, is
 * server-side apply; directives mean strategic merge; otherwise strategic merge for the built-in kinds
 * (what kubectl sends) and merge patch for custom resources (which accept no other object patch).
 */
export function inferPatchType(body: unknown, apiGroup: string, requestURI = ''): PatchType | undefined {
  if (Array.isArray(body)) return 'json';
  if (!isObject(body)) return undefined;
  const query = requestURI.includes('?') ? requestURI.slice(requestURI.indexOf('?') + 1) : '';
  const params = new URLSearchParams(query);
  const wholeConfig =
    typeof body.apiVersion === 'string' &&
    typeof body.kind === 'string' &&
    isObject(body.metadata) &&
    typeof body.metadata.name === 'string';
  if (params.has('force') || (wholeConfig && params.has('fieldManager') && !hasDirective(body)))
    return 'apply';
  if (hasDirective(body)) return 'strategic';
  return BUILTIN_GROUPS.has(apiGroup) ? 'strategic' : 'merge';
}

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Obj = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

/** RFC 6902 JSON patch; throws PatchError when an operation fails (a failed test, a missing path). */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be a list of operations');
  try {
    const doc = structuredClone(target ?? {});
    return jsonpatch.applyPatch(doc, ops as Operation[], true, true, true).newDocument;
  } catch (err) {
    throw new PatchError(`JSON patch failed: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** True when a JSON patch replaces the whole document (an add or replace at the root). */
export function jsonPatchReplacesRoot(ops: unknown): boolean {
  return (
    Array.isArray(ops) &&
    ops.some((op) => isObject(op) && op.path === '' && (op.op === 'add' || op.op === 'replace'))
  );
}

/** Applies a JSON patch to an unknown document: possible only from the last root replacement on. */
export function applyJsonPatchFromRoot(ops: unknown[]): unknown {
  let last = -1;
  ops.forEach((op, i) => {
    if (isObject(op) && op.path === '' && (op.op === 'add' || op.op === 'replace')) last = i;
  });
  if (last < 0) throw new PatchError('the patch does not replace the whole object');
  return applyJsonPatch({}, ops.slice(last));
}

/** True when a strategic merge patch replaces the whole object (`$patch: replace` at the top). */
export function strategicReplacesRoot(patch: unknown): boolean {
  return isObject(patch) && patch.$patch === 'replace';
}

function mergeKeyOf(field: string, items: readonly unknown[]): string | undefined {
  const candidates = MERGE_KEYS[field];
  if (!candidates) return undefined;
  for (const k of candidates) if (items.some((it) => isObject(it) && k in it)) return k;
  return candidates[0];
}

function sameKey(a: unknown, b: unknown, key: string): boolean {
  return isObject(a) && isObject(b) && key in a && JSON.stringify(a[key]) === JSON.stringify(b[key]);
}

function mergeList(field: string, current: unknown, patch: unknown[], fullPatch: Obj): unknown[] {
  const base = Array.isArray(current) ? current : [];
  // `$patch: replace` as an item: the list becomes the patch's other items.
  if (patch.some((it) => isObject(it) && it.$patch === 'replace')) {
    return patch.filter((it) => !(isObject(it) && it.$patch === 'replace')).map((it) => stripDirectives(it));
  }
  let out: unknown[];
  const key = mergeKeyOf(field, [...patch, ...base]);
  if (key && patch.every((it) => isObject(it))) {
    out = [...base];
    for (const item of patch as Obj[]) {
      const at = out.findIndex((x) => sameKey(x, item, key));
      if (item.$patch === 'delete') {
        if (at >= 0) out.splice(at, 1);
        continue;
      }
      if (at >= 0) out[at] = applyStrategic(out[at], item);
      else out.push(stripDirectives(item));
    }
  } else if (MERGED_PRIMITIVE_LISTS.has(field) && patch.every((it) => !isObject(it))) {
    out = [...base];
    for (const v of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
  } else {
    return patch.map((it) => stripDirectives(it));
  }
  const order = fullPatch[`${DIRECTIVE_ORDER}${field}`];
  if (Array.isArray(order)) out = reorder(out, order, key);
  return out;
}

/** `$setElementOrder`: the listed elements first, in the given order; the others after, as they were. */
function reorder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const rank = (x: unknown) =>
    order.findIndex((o) => (key ? sameKey(x, o, key) : JSON.stringify(x) === JSON.stringify(o)));
  return list
    .map((x, i) => ({ x, i, r: rank(x) }))
    .sort((a, b) => (a.r < 0 ? 1e9 + a.i : a.r) - (b.r < 0 ? 1e9 + b.i : b.r))
    .map((e) => e.x);
}

function stripDirectives(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && x.$patch === 'delete')).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

/**
 * Strategic merge patch: maps merge key by key (null deletes), lists with a merge key merge item by
 * item, `finalizers` merge as a set, other lists are replaced. Directives: `$patch: replace` (the map or
 * list is replaced), `$patch: delete` (the map, or the list item with that key, is removed),
 * `$retainKeys` (keys not listed are dropped), `$deleteFromPrimitiveList/F`, `$setElementOrder/F`.
 */
export function applyStrategic(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') return stripDirectives(patch);
  if (patch.$patch === 'delete') return undefined;
  const out: Obj = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith(DIRECTIVE_DELETE_PRIMITIVE)) {
      const field = k.slice(DIRECTIVE_DELETE_PRIMITIVE.length);
      const drop = Array.isArray(v) ? v.map((x) => JSON.stringify(x)) : [];
      if (Array.isArray(out[field])) {
        out[field] = (out[field] as unknown[]).filter((x) => !drop.includes(JSON.stringify(x)));
      }
      continue;
    }
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      out[k] = mergeList(k, out[k], v, patch);
    } else if (isObject(v)) {
      const merged = applyStrategic(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  // $setElementOrder for a list the patch does not otherwise touch.
  for (const [k, v] of Object.entries(patch)) {
    if (!k.startsWith(DIRECTIVE_ORDER) || !Array.isArray(v)) continue;
    const field = k.slice(DIRECTIVE_ORDER.length);
    if (field in patch || !Array.isArray(out[field])) continue;
    out[field] = reorder(out[field] as unknown[], v, mergeKeyOf(field, v));
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.filter((x): x is string => typeof x === 'string'));
    for (const k of Object.keys(out)) if (!keep.has(k)) delete out[k];
  }
  return out;
}

/**
 * Server-side apply, approximated: the applied configuration is merged into the object as a strategic
 * merge (lists with merge keys by key, others replaced). Not modelled: removing fields that the same
 * manager applied before and no longer lists, and conflicts between managers (a conflicting apply
 * without force fails and changes nothing, which the log shows as a 409).
 */
export function applyServerSideApply(target: unknown, config: unknown): unknown {
  if (!isObject(config)) throw new PatchError('an applied configuration must be an object');
  return applyStrategic(target, config);
}

/** Applies a patch of the given type to a copy of `target`. */
export function applyPatch(type: PatchType, target: unknown, patch: unknown): unknown {
  switch (type) {
    case 'json':
      return applyJsonPatch(target, patch);
    case 'merge':
      if (!isObject(patch)) throw new PatchError('a merge patch of an object must be an object');
      return applyMergePatch(target, patch);
    case 'strategic':
      if (!isObject(patch)) throw new PatchError('a strategic merge patch must be an object');
      return applyStrategic(target, patch);
    case 'apply':
      return applyServerSideApply(target, patch);
  }
}
