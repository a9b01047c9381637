// The filter language parser: text → QueryNode, with field names checked against the catalog and values
// checked against their field's type. Browser-safe. Grammar (docs/query-language.md):
//
//   query   = [ or ] ;                      empty or `*` alone: every event
//   or      = and { "OR" and } ;
//   and     = unary { [ "AND" ] unary } ;   juxtaposition is AND
//   unary   = ( "NOT" | "-" ) unary | primary ;
//   primary = "(" or ")" | term ;
//   term    = field ":" ( "*" | value | "(" value { "OR" value } ")" )
//           | field ( ">" | ">=" | "<" | "<=" ) value
//           | value ;                       free text
//   value   = quoted | word ;
//
// Limits (docs/query-language.md, "Limits"): a filter is at most MAX_FILTER_LENGTH characters, nests at
// most MAX_FILTER_DEPTH groups and negations (`(`, NOT and `-` together), holds at most MAX_FILTER_TERMS
// terms, and a JSON path has at most MAX_JSON_PATH_STEPS steps (each step nests in SQL). Past a limit
// the parser fails with KT_QUERY_LIMIT at the column where the limit is crossed, before any recursion can
// exhaust the stack or a back end its own expression limits.
//
// One piece on purpose: the grammar's productions are the methods of one recursive-descent class that
// share the read position and the depth and term budgets; whether a value suits its field is decided in
// value-checks.ts.
import { resolveField, suggestField, type ResolvedField } from '../../fields/catalog.js';
import type { CompareOp, QueryNode, ValueLiteral } from './ast.js';
import { queryError } from './errors.js';
import { compareValueProblem, matchValueProblem } from './value-checks.js';

const FIELD_CHAR = /[A-Za-z0-9_.\-/~$@]/;
const KEYWORDS = new Set(['AND', 'OR', 'NOT']);

/** Longest filter accepted, in characters (UTF-16 code units). */
export const MAX_FILTER_LENGTH = 16 * 1024;
/** Deepest nesting of parentheses and negations (NOT, `-`) together. */
export const MAX_FILTER_DEPTH = 100;
/** Most terms in one filter, each value of a value list counting as one. */
export const MAX_FILTER_TERMS = 500;
/** Most steps of a JSON path (`requestObject.spec.containers.image` has 4). */
export const MAX_JSON_PATH_STEPS = 64;

type ParseErrorCode = 'KT_QUERY_SYNTAX' | 'KT_QUERY_FIELD' | 'KT_QUERY_VALUE' | 'KT_QUERY_LIMIT';

class Parser {
  pos = 0;
  /** Groups and negations open at the cursor. */
  depth = 0;
  /** Terms read so far. */
  terms = 0;
  constructor(readonly input: string) {}

  fail(offset: number, message: string, code: ParseErrorCode = 'KT_QUERY_SYNTAX', hint?: string): never {
    throw queryError(code, this.input, offset, message, hint);
  }

  skipWs(): void {
    while (this.pos < this.input.length && /\s/.test(this.input[this.pos]!)) this.pos++;
  }

  eof(): boolean {
    return this.pos >= this.input.length;
  }

  /** The keyword at the cursor, if a whole word (followed by space, paren or end). */
  keyword(): string | undefined {
    const m = /^(AND|OR|NOT)(?=[\s()"]|$)/.exec(this.input.slice(this.pos, this.pos + 4));
    return m ? m[1] : undefined;
  }

  /** Enters a group or negation at `at`; fails past MAX_FILTER_DEPTH. Paired with `this.depth--`. */
  enter(at: number): void {
    if (++this.depth > MAX_FILTER_DEPTH) {
      this.fail(
        at,
        `the filter nests parentheses and negations more than ${MAX_FILTER_DEPTH} deep`,
        'KT_QUERY_LIMIT',
        `write the filter with fewer nested groups: NOT NOT x is x, and ((x)) is x (docs/query-language.md, "Limits")`,
      );
    }
  }

  /** Counts a term starting at `at`; fails past MAX_FILTER_TERMS. */
  term(at: number): void {
    if (++this.terms > MAX_FILTER_TERMS) {
      this.fail(
        at,
        `the filter has more than ${MAX_FILTER_TERMS} terms`,
        'KT_QUERY_LIMIT',
        `split the search into several filters (docs/query-language.md, "Limits")`,
      );
    }
  }

  parseQuery(): QueryNode {
    if (this.input.length > MAX_FILTER_LENGTH) {
      this.fail(
        MAX_FILTER_LENGTH,
        `the filter is ${this.input.length} characters long; the longest accepted is ${MAX_FILTER_LENGTH}`,
        'KT_QUERY_LIMIT',
        `shorten the filter or split the search (docs/query-language.md, "Limits")`,
      );
    }
    this.skipWs();
    if (this.eof()) return { type: 'all' };
    const node = this.parseOr();
    this.skipWs();
    if (!this.eof()) {
      if (this.input[this.pos] === ')') this.fail(this.pos, 'unmatched closing parenthesis');
      this.fail(this.pos, 'unexpected text');
    }
    return node;
  }

  parseOr(): QueryNode {
    const start = this.pos;
    const children = [this.parseAnd()];
    for (;;) {
      this.skipWs();
      if (this.keyword() !== 'OR') break;
      this.pos += 2;
      this.skipWs();
      if (this.eof() || this.input[this.pos] === ')') this.fail(this.pos, 'expected a term after OR');
      children.push(this.parseAnd());
    }
    return children.length === 1 ? children[0]! : { type: 'or', children, span: { start, end: this.pos } };
  }

  parseAnd(): QueryNode {
    const start = this.pos;
    const children = [this.parseUnary()];
    for (;;) {
      this.skipWs();
      if (this.eof() || this.input[this.pos] === ')') break;
      const kw = this.keyword();
      if (kw === 'OR') break;
      if (kw === 'AND') {
        this.pos += 3;
        this.skipWs();
        if (this.eof() || this.input[this.pos] === ')') this.fail(this.pos, 'expected a term after AND');
      }
      children.push(this.parseUnary());
    }
    return children.length === 1 ? children[0]! : { type: 'and', children, span: { start, end: this.pos } };
  }

  parseUnary(): QueryNode {
    this.skipWs();
    const start = this.pos;
    if (this.keyword() === 'NOT') {
      this.enter(start);
      this.pos += 3;
      this.skipWs();
      if (this.eof() || this.input[this.pos] === ')') this.fail(this.pos, 'expected a term after NOT');
      const child = this.parseUnary();
      this.depth--;
      return { type: 'not', child, span: { start, end: this.pos } };
    }
    if (
      this.input[this.pos] === '-' &&
      this.pos + 1 < this.input.length &&
      !/[\s)]/.test(this.input[this.pos + 1]!)
    ) {
      this.enter(start);
      this.pos++;
      const child = this.parseUnary();
      this.depth--;
      return { type: 'not', child, span: { start, end: this.pos } };
    }
    return this.parsePrimary();
  }

  parsePrimary(): QueryNode {
    this.skipWs();
    const start = this.pos;
    const c = this.input[this.pos];
    if (c === undefined) this.fail(this.pos, 'expected a term');
    if (c === '(') {
      this.enter(start);
      this.pos++;
      this.skipWs();
      if (this.input[this.pos] === ')') this.fail(this.pos, 'empty parentheses');
      const inner = this.parseOr();
      this.skipWs();
      if (this.input[this.pos] !== ')') this.fail(start, 'unclosed parenthesis');
      this.pos++;
      this.depth--;
      return inner;
    }
    if (c === ')') this.fail(this.pos, 'unmatched closing parenthesis');
    this.term(start);
    if (c === '"') {
      const value = this.readQuoted();
      return { type: 'text', value, span: { start, end: this.pos } };
    }
    // A field name followed by an operator, or a bare word (free text).
    let end = this.pos;
    while (end < this.input.length && FIELD_CHAR.test(this.input[end]!)) end++;
    let opAt = end;
    // Comparisons may be spaced out: `code >= 400`.
    if (end > this.pos && /\s/.test(this.input[end] ?? '')) {
      let k = end;
      while (k < this.input.length && /\s/.test(this.input[k]!)) k++;
      if (this.input[k] === '<' || this.input[k] === '>') opAt = k;
    }
    if (end > this.pos && this.input[end] === '[') this.refuseIndex(this.pos, end);
    const op = this.input[opAt];
    if (end > this.pos && (op === ':' || op === '<' || op === '>')) {
      const name = this.input.slice(this.pos, end);
      return this.parseFieldTerm(name, start, opAt);
    }
    if (this.input[this.pos] === '*' && this.isDelimiter(this.pos + 1)) {
      this.pos++;
      return { type: 'all', span: { start, end: this.pos } };
    }
    const value = this.readWord();
    if (KEYWORDS.has(value.text)) this.fail(start, `${value.text} needs a term on both sides`);
    return { type: 'text', value, span: { start, end: this.pos } };
  }

  isDelimiter(i: number): boolean {
    return i >= this.input.length || /[\s()]/.test(this.input[i]!);
  }

  /**
   * `requestObject.spec.containers[0].image:x` would otherwise be read as free text and match nothing:
   * when a field name runs into `[…]` and then an operator, say how paths read arrays instead.
   */
  refuseIndex(start: number, bracket: number): void {
    const m = /^(?:\[\s*(?:\d+|\*)?\s*\](?:\.?[\w./-]+)?)+(?=[:<>])/.exec(this.input.slice(bracket));
    if (!m) return;
    const name = this.input.slice(start, bracket + m[0].length);
    const plain = name.replace(/\[\s*(?:\d+|\*)?\s*\]/g, '').replace(/\.{2,}/g, '.');
    if (resolveField(plain)?.kind !== 'json') return;
    this.fail(
      start,
      `${JSON.stringify(name)} indexes an array; paths cross arrays by themselves: write \`${plain}\``,
      'KT_QUERY_FIELD',
      `\`${plain}\` matches when any element matches (docs/query-language.md)`,
    );
  }

  resolve(name: string, at: number): ResolvedField {
    const f = resolveField(name);
    if (f?.kind === 'json' && f.path.length > MAX_JSON_PATH_STEPS) {
      this.fail(
        at,
        `the path ${JSON.stringify(name.slice(0, 60) + (name.length > 60 ? '…' : ''))} has ${f.path.length} steps; the most accepted is ${MAX_JSON_PATH_STEPS}`,
        'KT_QUERY_LIMIT',
        'shorten the path (docs/query-language.md, "Limits")',
      );
    }
    if (f) return f;
    const s = suggestField(name);
    this.fail(
      at,
      `unknown field ${JSON.stringify(name)}${s ? `; did you mean \`${s}\`?` : ''}`,
      'KT_QUERY_FIELD',
      s ? `did you mean \`${s}\`? docs/fields.md lists every field` : 'docs/fields.md lists every field',
    );
  }

  parseFieldTerm(name: string, start: number, opAt: number): QueryNode {
    const field = this.resolve(name, start);
    this.pos = opAt;
    const first = this.input[this.pos]!;
    if (first === ':') {
      this.pos++;
      this.skipWs();
      if (this.eof()) this.fail(this.pos, `expected a value after ${name}:`);
      if (this.input[this.pos] === '*' && this.isDelimiter(this.pos + 1)) {
        this.pos++;
        return { type: 'exists', field: name, span: { start, end: this.pos } };
      }
      if (this.input[this.pos] === '(') return this.parseValueList(name, field, start);
      const value = this.readValue();
      this.checkMatchValue(field, name, value);
      return { type: 'match', field: name, value, span: { start, end: this.pos } };
    }
    let op: CompareOp = first as CompareOp;
    this.pos++;
    if (this.input[this.pos] === '=') {
      op = `${first}=` as CompareOp;
      this.pos++;
    }
    this.skipWs();
    if (this.eof() || this.input[this.pos] === ')')
      this.fail(this.pos, `expected a value after ${name}${op}`);
    const value = this.readValue();
    this.checkCompareValue(field, name, op, value, start);
    return { type: 'compare', field: name, op, value, span: { start, end: this.pos } };
  }

  parseValueList(name: string, field: ResolvedField, start: number): QueryNode {
    const open = this.pos;
    this.pos++;
    const children: QueryNode[] = [];
    for (;;) {
      this.skipWs();
      if (this.eof()) this.fail(open, 'unclosed parenthesis in value list');
      if (this.input[this.pos] === ')') {
        if (children.length === 0) this.fail(this.pos, 'empty value list');
        this.fail(this.pos, 'expected a value after OR');
      }
      const vstart = this.pos;
      if (children.length > 0) this.term(vstart);
      const value = this.readValue();
      this.checkMatchValue(field, name, value);
      children.push({ type: 'match', field: name, value, span: { start: vstart, end: this.pos } });
      this.skipWs();
      if (this.eof()) this.fail(open, 'unclosed parenthesis in value list');
      if (this.input[this.pos] === ')') {
        this.pos++;
        break;
      }
      if (this.keyword() === 'OR') {
        this.pos += 2;
        continue;
      }
      this.fail(this.pos, 'values in a list are separated by OR, as in verb:(create OR delete)');
    }
    return children.length === 1 ? children[0]! : { type: 'or', children, span: { start, end: this.pos } };
  }

  readValue(): ValueLiteral {
    return this.input[this.pos] === '"' ? this.readQuoted() : this.readWord();
  }

  readQuoted(): ValueLiteral {
    const start = this.pos;
    this.pos++;
    let text = '';
    for (;;) {
      if (this.eof()) this.fail(start, 'unclosed quote');
      const c = this.input[this.pos]!;
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === '\\') {
        const n = this.input[this.pos + 1];
        if (n === undefined) this.fail(this.pos, 'unfinished escape');
        text += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
        this.pos += 2;
        continue;
      }
      text += c;
      this.pos++;
    }
    return { text, quoted: true, wildcard: false, span: { start, end: this.pos } };
  }

  /** An unquoted value: up to white space, or a `)` that closes an outer group. Backslash escapes. */
  readWord(): ValueLiteral {
    const start = this.pos;
    let text = '';
    let depth = 0;
    const parts: string[] = [];
    let current = '';
    let wildcard = false;
    while (!this.eof()) {
      const c = this.input[this.pos]!;
      if (/\s/.test(c)) break;
      if (c === '"') this.fail(this.pos, 'unexpected quote inside a value; quote the whole value');
      if (c === '(') depth++;
      if (c === ')') {
        if (depth === 0) break;
        depth--;
      }
      if (c === '\\') {
        const n = this.input[this.pos + 1];
        if (n === undefined) this.fail(this.pos, 'unfinished escape');
        text += n;
        current += n;
        this.pos += 2;
        continue;
      }
      if (c === '*') {
        wildcard = true;
        parts.push(current);
        current = '';
      } else {
        current += c;
      }
      text += c;
      this.pos++;
    }
    if (this.pos === start) this.fail(start, 'expected a value');
    parts.push(current);
    return wildcard
      ? { text, quoted: false, wildcard: true, parts, span: { start, end: this.pos } }
      : { text, quoted: false, wildcard: false, span: { start, end: this.pos } };
  }

  checkMatchValue(field: ResolvedField, name: string, value: ValueLiteral): void {
    const p = matchValueProblem(field, name, value);
    if (p) this.fail(value.span?.start ?? this.pos, p.message, 'KT_QUERY_VALUE', p.hint);
  }

  checkCompareValue(
    field: ResolvedField,
    name: string,
    op: CompareOp,
    value: ValueLiteral,
    start: number,
  ): void {
    const p = compareValueProblem(field, name, op, value);
    if (p) this.fail(p.atTerm ? start : (value.span?.start ?? this.pos), p.message, 'KT_QUERY_VALUE', p.hint);
  }
}

/**
 * Parses a filter; throws KubetrailError (KT_QUERY_SYNTAX, KT_QUERY_FIELD, KT_QUERY_VALUE, KT_QUERY_LIMIT)
 * with the column.
 */
export function parseQuery(input: string): QueryNode {
  return new Parser(input).parseQuery();
}

/** Drops source spans, for comparing trees. */
export function stripSpans(node: QueryNode): QueryNode {
  switch (node.type) {
    case 'all':
      return { type: 'all' };
    case 'and':
    case 'or':
      return { type: node.type, children: node.children.map(stripSpans) };
    case 'not':
      return { type: 'not', child: stripSpans(node.child) };
    case 'exists':
      return { type: 'exists', field: node.field };
    case 'text':
      return { type: 'text', value: stripValue(node.value) };
    case 'match':
      return { type: 'match', field: node.field, value: stripValue(node.value) };
    case 'compare':
      return { type: 'compare', field: node.field, op: node.op, value: stripValue(node.value) };
  }
}

function stripValue(v: ValueLiteral): ValueLiteral {
  return v.wildcard
    ? { text: v.text, quoted: v.quoted, wildcard: true, parts: [...(v.parts ?? [])] }
    : { text: v.text, quoted: v.quoted, wildcard: false };
}
