// The canonical printer: QueryNode → filter text that parses back to the same tree. Used to show
// normalized filters, to store rule conditions, and in round-trip tests. Browser-safe.
import type { QueryNode, ValueLiteral } from './ast.js';

function quote(text: string): string {
  return `"${text.replace(/[\\"\n\t\r]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\${c}`))}"`;
}

/**
 * Escapes an unquoted piece so that it reads back as the same literal characters. In free text, `:`, `<`
 * and `>` are escaped too, or the word would read as a field term.
 */
function escapeWord(text: string, freeText: boolean): string {
  return text.replace(freeText ? /[\s\\"()*:<>]/g : /[\s\\"()*]/g, (c) => `\\${c}`);
}

export function printValue(v: ValueLiteral, freeText = false): string {
  if (v.quoted) return quote(v.text);
  let out = v.wildcard
    ? (v.parts ?? [v.text]).map((p) => escapeWord(p, freeText)).join('*')
    : escapeWord(v.text, freeText);
  // A bare value that reads as a keyword or operator at the start of a term must stay a value.
  if (/^(AND|OR|NOT)$/.test(out) || out.startsWith('-')) out = `\\${out}`;
  return out;
}

function wrap(node: QueryNode, parent: 'and' | 'or' | 'not'): string {
  const text = printQuery(node);
  if (node.type === 'or' && parent !== 'or') return `(${text})`;
  if (node.type === 'and' && parent === 'not') return `(${text})`;
  return text;
}

export function printQuery(node: QueryNode): string {
  switch (node.type) {
    case 'all':
      return '*';
    case 'and':
      return node.children.map((c) => wrap(c, 'and')).join(' ');
    case 'or':
      return node.children.map((c) => wrap(c, 'or')).join(' OR ');
    case 'not':
      return `NOT ${wrap(node.child, 'not')}`;
    case 'match':
      return `${node.field}:${printValue(node.value)}`;
    case 'compare':
      return `${node.field}${node.op}${printValue(node.value)}`;
    case 'exists':
      return `${node.field}:*`;
    case 'text':
      return printValue(node.value, true);
  }
}
