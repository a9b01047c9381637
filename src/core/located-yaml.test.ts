import { describe, expect, it } from 'vitest';
import {
  exactPlaceOf,
  parentPathText,
  parseLocated,
  parseLocatedAll,
  pathText,
  placeOf,
  placeOfNode,
} from './located-yaml.js';

const TEXT = ['rules:', '  - id: a', '    condition: x', '  - id: b', 'lists:', '  l: [1, 2]', ''].join('\n');

describe('located YAML', () => {
  it('places the value at a key path, 1-based', () => {
    const y = parseLocated(TEXT);
    expect(y.errors).toEqual([]);
    expect(placeOf(y, ['rules', 0, 'condition'])).toEqual({ line: 3, column: 16 });
    expect(placeOf(y, ['rules', 1])).toEqual({ line: 4, column: 5 });
    expect(placeOf(y, ['lists', 'l', 1])).toEqual({ line: 6, column: 10 });
  });

  it('falls back to the nearest existing parent for a path that is absent', () => {
    const y = parseLocated(TEXT);
    expect(placeOf(y, ['rules', 1, 'condition'])).toEqual({ line: 4, column: 5 });
    expect(placeOf(y, ['nothing', 'here'])).toEqual({ line: 1, column: 1 });
    expect(exactPlaceOf(y, ['rules', 1, 'condition'])).toBeUndefined();
  });

  it('places a key itself, where an unknown key is written', () => {
    const y = parseLocated(TEXT);
    expect(exactPlaceOf(y, ['rules', 0], 'condition')).toEqual({ line: 3, column: 5 });
    // a key that is not there: the mapping's own place
    expect(exactPlaceOf(y, ['rules', 0], 'nope')).toEqual({ line: 2, column: 5 });
  });

  it('reports syntax errors placed, first line of the message only', () => {
    const y = parseLocated('a: 1\na: 2\n', { uniqueKeys: true });
    expect(y.errors).toHaveLength(1);
    expect(y.errors[0]).toMatchObject({ line: 2, column: 1 });
    expect(y.errors[0]!.message).not.toContain('\n');
    expect(parseLocated('a: [1, 2\n').errors[0]?.line).toBeGreaterThanOrEqual(1);
  });

  it('parses a stream of documents with one line counter', () => {
    const { docs, lc } = parseLocatedAll('a: 1\n---\nb: 2\n');
    expect(docs).toHaveLength(2);
    expect(placeOfNode(lc, docs[1]!.contents)).toEqual({ line: 3, column: 1 });
    expect(placeOfNode(lc, null)).toBeUndefined();
  });

  it('writes key paths as text and walks them up', () => {
    expect(pathText(['rules', 3, 'condition'])).toBe('rules[3].condition');
    expect(pathText([0, 'a'])).toBe('[0].a');
    expect(pathText([])).toBe('');
    expect(pathText([], '(top level)')).toBe('(top level)');
    expect(parentPathText('rules[3].level')).toBe('rules[3]');
    expect(parentPathText('rules[3]')).toBe('rules');
    expect(parentPathText('rules')).toBe('');
  });
});
