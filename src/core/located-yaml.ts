// YAML with positions, for every loader that reports problems at a line and column: parsing with a line
// counter, the syntax errors placed, the place of a key path (or of its nearest existing parent), the
// place of a key itself, key paths as text (`rules[3].condition`), and "did you mean" suggestions over a
// set of names (re-exported from ./did-you-mean.ts, which has no YAML in it).
import {
  isMap,
  isNode,
  LineCounter,
  parseAllDocuments,
  parseDocument,
  type Document,
  type DocumentOptions,
  type ParseOptions,
  type SchemaOptions,
} from 'yaml';

export { closest, editDistance, typoDistance } from './did-you-mean.js';

export type YamlOptions = DocumentOptions & ParseOptions & SchemaOptions;

/** A 1-based line and column. */
export interface Place {
  line: number;
  column: number;
}

/** A syntax error of the text, placed, with the first line of the parser's message. */
export interface YamlSyntaxError extends Place {
  message: string;
}

/** One parsed document and the line counter that places its nodes. */
export interface LocatedYaml {
  doc: Document;
  lc: LineCounter;
  /** The document's syntax errors, in file order; empty when it parsed. */
  errors: YamlSyntaxError[];
}

/** Parses one YAML (or JSON) document keeping the positions of its nodes. */
export function parseLocated(text: string, options: YamlOptions = {}): LocatedYaml {
  const lc = new LineCounter();
  const doc = parseDocument(text, { ...options, lineCounter: lc, prettyErrors: false });
  return { doc, lc, errors: syntaxErrors(doc, lc) };
}

/** Parses every document of a YAML stream keeping positions (one line counter for all). */
export function parseLocatedAll(
  text: string,
  options: YamlOptions = {},
): { docs: Document[]; lc: LineCounter } {
  const lc = new LineCounter();
  const parsed = parseAllDocuments(text, { ...options, lineCounter: lc, prettyErrors: false });
  return { docs: Array.isArray(parsed) ? parsed : [], lc };
}

/** The place of a character offset. */
export function placeOfOffset(lc: LineCounter, offset: number): Place {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}

/** The place where a node starts, when it has a range. */
export function placeOfNode(lc: LineCounter, node: unknown): Place | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range ? placeOfOffset(lc, range[0]) : undefined;
}

/** A document's syntax errors, placed. */
export function syntaxErrors(doc: Document, lc: LineCounter): YamlSyntaxError[] {
  return doc.errors.map((e) => ({ ...placeOfOffset(lc, e.pos[0]), message: e.message.split('\n')[0]! }));
}

/** The place of the value at a key path, or of its nearest existing parent. */
export function placeOf(y: Pick<LocatedYaml, 'doc' | 'lc'>, path: readonly PropertyKey[]): Place | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = y.doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return placeOfOffset(y.lc, node.range[0]);
  }
  return undefined;
}

/**
 * The place of the value at exactly this key path, or with `key`, of that key in the mapping at the
 * path (where an unknown key is written); undefined when absent.
 */
export function exactPlaceOf(
  y: Pick<LocatedYaml, 'doc' | 'lc'>,
  path: readonly PropertyKey[],
  key?: string,
): Place | undefined {
  const node = y.doc.getIn(path as unknown[], true);
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
    const at = placeOfNode(y.lc, pair?.key);
    if (at) return at;
  }
  return placeOfNode(y.lc, node);
}

/** A key path as text: `rules[3].condition`; `top` for the empty path. */
export function pathText(path: readonly PropertyKey[], top = ''): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${String(k)}` : String(k);
  return out || top;
}

/** The parent of a path text: `rules[3].level` → `rules[3]` → `rules` → `` (empty for the top). */
export function parentPathText(path: string): string {
  const cut = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
  return cut <= 0 ? '' : path.slice(0, cut);
}
