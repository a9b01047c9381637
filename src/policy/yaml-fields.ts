// Reading a policy's YAML tree the way the API server decodes it: typed values (strings, booleans, lists,
// mappings) out of nodes, aliases followed within a budget, unknown and duplicate keys warned about, and
// every problem recorded with its field path and its line and column. The policy reader (load.ts) and
// its validation (validate.ts) report through it.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from 'yaml';
import { KubetrailError } from '../core/errors.js';
import { closest, parentPathText, placeOfNode, type Place } from '../core/located-yaml.js';
import type { Problem } from './types.js';

/** A node of the parsed YAML tree (a map, list, scalar or alias), or null for a missing value. */
export type YNode = unknown;

/** The state of one read: problems found, where each field path is, and the parsed document. */
export interface Ctx {
  problems: Problem[];
  positions: Map<string, Place>;
  lc: LineCounter;
  doc: Document;
  file: string | undefined;
  aliases: number;
}

export function posOf(ctx: Ctx, node: YNode): Place | undefined {
  return placeOfNode(ctx.lc, node);
}

export function report(
  ctx: Ctx,
  severity: Problem['severity'],
  id: string,
  path: string,
  message: string,
  at?: Place,
): void {
  const where = at ?? nearest(ctx.positions, path);
  ctx.problems.push({
    severity,
    id,
    message,
    path,
    ...(ctx.file !== undefined ? { file: ctx.file } : {}),
    ...(where ? { line: where.line, column: where.column } : {}),
  });
}

/** The position of a field path, or of its nearest enclosing field that has one. */
export function nearest(positions: Map<string, Place>, path: string): Place | undefined {
  let p = path;
  for (;;) {
    const hit = positions.get(p);
    if (hit) return hit;
    if (p === '') return undefined;
    p = parentPathText(p);
  }
}

/** Follows aliases (`*anchor`), with a budget so that alias bombs cannot blow up the walk. */
export function deref(ctx: Ctx, node: YNode): YNode {
  let n = node;
  while (isAlias(n)) {
    if (++ctx.aliases > 10_000) {
      throw new KubetrailError('KT_POLICY_READ', 'too many YAML aliases in the policy', {
        where: { ...(ctx.file ? { file: ctx.file } : {}), ...posOf(ctx, node) },
      });
    }
    n = n.resolve(ctx.doc);
  }
  return n;
}

export function kindOf(node: YNode): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (v instanceof Date) return 'a string';
    return typeof v === 'string' ? 'a string' : `a ${typeof v} (${JSON.stringify(node.source ?? String(v))})`;
  }
  return 'an unsupported value';
}

/** A scalar that decodes as a string (YAML 1.1, like the API server: `yes`, `on` are booleans). */
export function stringOf(node: YNode): string | undefined {
  if (!isScalar(node)) return undefined;
  if (typeof node.value === 'string') return node.value;
  if (node.value instanceof Date) return node.source;
  return undefined;
}

export function isNull(node: YNode): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

/** Iterates a mapping's keys: records positions, warns on unknown and duplicate keys (the last one wins). */
export function fields(
  ctx: Ctx,
  node: YNode,
  path: string,
  known: readonly string[],
  what: string,
): Map<string, YNode> {
  const out = new Map<string, YNode>();
  if (!isMap(node)) return out;
  for (const pair of node.items) {
    const keyNode = deref(ctx, pair.key);
    const key = stringOf(keyNode);
    const keyPos = posOf(ctx, keyNode);
    const fieldPath = path ? `${path}.${key ?? '?'}` : (key ?? '?');
    if (key === undefined) {
      report(
        ctx,
        'warning',
        'unknown-field',
        fieldPath,
        `a ${what} key must be a string; the key is ignored`,
        keyPos,
      );
      continue;
    }
    if (!known.includes(key)) {
      const s = closest(key, known, 2);
      const consequence =
        what === 'rule' || what === 'resources entry'
          ? ' (the API server drops it, which can make the rule match more than intended)'
          : ' (the API server drops it)';
      report(
        ctx,
        'warning',
        'unknown-field',
        fieldPath,
        `unknown field ${JSON.stringify(key)} in ${what}${consequence}${s ? `; did you mean ${JSON.stringify(s)}?` : ''}`,
        keyPos,
      );
      continue;
    }
    if (out.has(key)) {
      report(
        ctx,
        'warning',
        'duplicate-field',
        fieldPath,
        `field ${JSON.stringify(key)} appears twice in the same ${what}; the API server keeps the last one`,
        keyPos,
      );
    }
    const value = deref(ctx, pair.value);
    out.set(key, value);
    const at = posOf(ctx, value) ?? keyPos;
    if (at) ctx.positions.set(fieldPath, at);
  }
  return out;
}

export function typeError(ctx: Ctx, path: string, expected: string, node: YNode): void {
  report(
    ctx,
    'error',
    'wrong-type',
    path,
    `${path} must be ${expected}, not ${kindOf(node)}`,
    posOf(ctx, node),
  );
}

export function stringField(ctx: Ctx, node: YNode, path: string): string | undefined {
  if (isNull(node)) return undefined;
  const s = stringOf(node);
  if (s === undefined) typeError(ctx, path, 'a string', node);
  return s;
}

export function boolField(ctx: Ctx, node: YNode, path: string): boolean | undefined {
  if (isNull(node)) return undefined;
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  typeError(ctx, path, 'true or false', node);
  return undefined;
}

export function stringList(ctx: Ctx, node: YNode, path: string): string[] | undefined {
  if (isNull(node)) return undefined;
  if (!isSeq(node)) {
    typeError(ctx, path, 'a list of strings', node);
    return undefined;
  }
  const out: string[] = [];
  node.items.forEach((raw, i) => {
    const item = deref(ctx, raw);
    const at = posOf(ctx, item);
    if (at) ctx.positions.set(`${path}[${i}]`, at);
    const s = stringOf(item);
    if (s === undefined) {
      const hint =
        isScalar(item) && typeof item.value === 'boolean'
          ? ` (YAML reads ${JSON.stringify(item.source)} as a boolean: quote it)`
          : '';
      report(
        ctx,
        'error',
        'wrong-type',
        `${path}[${i}]`,
        `${path}[${i}] must be a string, not ${kindOf(item)}${hint}`,
        at,
      );
    } else out.push(s);
  });
  return out;
}

export function objectList(
  ctx: Ctx,
  node: YNode,
  path: string,
  what: string,
): { node: YNode; path: string }[] {
  if (isNull(node)) return [];
  if (!isSeq(node)) {
    typeError(ctx, path, `a list of ${what}`, node);
    return [];
  }
  const out: { node: YNode; path: string }[] = [];
  node.items.forEach((raw, i) => {
    const item = deref(ctx, raw);
    const p = `${path}[${i}]`;
    const at = posOf(ctx, item);
    if (at) ctx.positions.set(p, at);
    if (isNull(item)) {
      out.push({ node: null, path: p });
      return;
    }
    if (!isMap(item)) {
      typeError(ctx, p, `a mapping (one ${what.replace(/s$/, '')})`, item);
      return;
    }
    out.push({ node: item, path: p });
  });
  return out;
}
