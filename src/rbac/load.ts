// Reads the cluster's RBAC objects from YAML or JSON: what `kubectl get clusterroles,clusterrolebindings,
// roles,rolebindings -A -o yaml` prints (a List), multi-document YAML, single objects, or a folder of such
// files. Objects of other kinds are skipped and counted. Every object is validated with the API server's
// rules; a problem is reported with its file, line, column and field path (KT_RBAC_INVALID), a syntax
// error with its place (KT_RBAC_READ).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { KubetrailError } from '../core/errors.js';
import { parseLocatedAll, pathText, placeOf, syntaxErrors } from '../core/located-yaml.js';
import { RBAC_KINDS, schemaFor, type RbacKind } from './schema.js';
import { setOf, type RbacObject, type RbacSet } from './types.js';

/** Largest RBAC file accepted (a large cluster's full dump is a few megabytes). */
export const MAX_RBAC_BYTES = 64 * 1024 * 1024;

export interface LoadedRbac {
  set: RbacSet;
  objects: RbacObject[];
  /** Objects of other kinds that were skipped. */
  skipped: number;
  files: string[];
}

/** Drops null values, which `kubectl get -o yaml` writes for empty lists (`rules: null`). */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.filter((x) => x !== null).map(withoutNulls);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
    return out;
  }
  return v;
}

/** Parses RBAC objects from the text of one file (`file` names it in errors). */
export function parseRbac(text: string, file: string): { objects: RbacObject[]; skipped: number } {
  const { docs, lc } = parseLocatedAll(text);
  const objects: RbacObject[] = [];
  let skipped = 0;
  for (const doc of docs) {
    const bad = syntaxErrors(doc, lc)[0];
    if (bad)
      throw new KubetrailError('KT_RBAC_READ', bad.message, {
        where: { file, line: bad.line, column: bad.column },
      });
    const value = withoutNulls(doc.toJS({ maxAliasCount: 100 }));
    if (value === undefined || value === null) continue;
    const fail = (p: PropertyKey[], message: string): never => {
      const at = placeOf({ doc, lc }, p);
      throw new KubetrailError('KT_RBAC_INVALID', message, {
        where: { file, ...(at ? { line: at.line, column: at.column } : {}), path: pathText(p, '(top)') },
      });
    };
    if (typeof value !== 'object' || Array.isArray(value))
      fail([], 'expected an RBAC object or a List of them');
    const top = value as { kind?: unknown; items?: unknown };
    const entries: [unknown, PropertyKey[]][] =
      typeof top.kind === 'string' && top.kind.endsWith('List')
        ? Array.isArray(top.items)
          ? top.items.map((item, i) => [item, ['items', i]])
          : fail(['items'], `a ${top.kind} needs items`)
        : [[value, []]];
    for (const [item, at] of entries) {
      const kind = (item as { kind?: unknown } | null)?.kind;
      if (typeof kind !== 'string' || !(RBAC_KINDS as readonly string[]).includes(kind)) {
        skipped++;
        continue;
      }
      const r = schemaFor(kind as RbacKind).safeParse(item);
      if (!r.success) {
        const issue = r.error.issues[0]!;
        fail([...at, ...issue.path], `${kind}: ${issue.message}`);
      }
      objects.push(r.data as RbacObject);
    }
  }
  return { objects, skipped };
}

async function filesOf(input: string): Promise<string[]> {
  let s;
  try {
    s = await stat(input);
  } catch {
    throw new KubetrailError('KT_INPUT_NOT_FOUND', `${input} does not exist`, { where: { file: input } });
  }
  if (!s.isDirectory()) return [input];
  const out: string[] = [];
  for (const e of (await readdir(input, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = path.join(input, e.name);
    if (e.isDirectory()) out.push(...(await filesOf(p)));
    else if (/\.(ya?ml|json)$/i.test(e.name)) out.push(p);
  }
  return out;
}

/** Loads the RBAC objects of files and folders (YAML and JSON files in folders, recursively). */
export async function loadRbac(inputs: readonly string[]): Promise<LoadedRbac> {
  const files = (await Promise.all(inputs.map(filesOf))).flat();
  const objects: RbacObject[] = [];
  let skipped = 0;
  for (const file of files) {
    const size = (await stat(file)).size;
    if (size > MAX_RBAC_BYTES)
      throw new KubetrailError('KT_RBAC_READ', `the file is larger than ${MAX_RBAC_BYTES} bytes`, {
        where: { file },
      });
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new KubetrailError('KT_RBAC_READ', `cannot read the file: ${(err as Error).message}`, {
        where: { file },
        cause: err,
      });
    }
    const r = parseRbac(text, file);
    objects.push(...r.objects);
    skipped += r.skipped;
  }
  return { set: setOf(objects), objects, skipped, files };
}
