// Generators of filter-language trees for property tests: values drawn from a vocabulary (exact or with
// a leading or trailing wildcard), and AND/OR/NOT trees over the leaves a test chooses.
import fc from 'fast-check';
import type { QueryNode, ValueLiteral } from '../query/syntax/ast.js';

const lit = (text: string): ValueLiteral => ({ text, quoted: true, wildcard: false });
const wild = (parts: string[]): ValueLiteral => ({
  text: parts.join('*'),
  quoted: false,
  wildcard: true,
  parts,
});

/** A value from the vocabulary: exact, or matching its first or last two characters by wildcard. */
export function valueOf(vocab: readonly string[]): fc.Arbitrary<ValueLiteral> {
  return fc.oneof(
    fc.constantFrom(...vocab).map(lit),
    fc.constantFrom(...vocab).map((v) => wild([v.slice(0, 2), ''])),
    fc.constantFrom(...vocab).map((v) => wild(['', v.slice(-2)])),
  );
}

/** Small AND/OR/NOT trees over the given leaves. */
export function queryTree(leaf: fc.Arbitrary<QueryNode>): fc.Arbitrary<QueryNode> {
  return fc.letrec<{ q: QueryNode }>((tie) => ({
    q: fc.oneof(
      { depthSize: 'small' },
      leaf,
      fc.record({
        type: fc.constant('and' as const),
        children: fc.array(tie('q'), { minLength: 2, maxLength: 3 }),
      }),
      fc.record({
        type: fc.constant('or' as const),
        children: fc.array(tie('q'), { minLength: 2, maxLength: 3 }),
      }),
      fc.record({ type: fc.constant('not' as const), child: tie('q') }),
    ),
  })).q;
}
