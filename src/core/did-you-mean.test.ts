import { describe, expect, it } from 'vitest';
import { closest, editDistance, typoDistance } from './did-you-mean.js';

describe('did you mean', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('', 'ab')).toBe(2);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('flag', 'flags')).toBe(1);
    expect(editDistance('verb', 'verb')).toBe(0);
  });

  it('is symmetric', () => {
    for (const [a, b] of [
      ['namespace', 'namespaces'],
      ['usr', 'user'],
      ['sourceIPs', 'sourceips'],
    ] as const)
      expect(editDistance(a, b)).toBe(editDistance(b, a));
  });

  it('suggests the closest name ignoring case, within the typo distance, first of equals', () => {
    expect(closest('hashvalues', ['hashValues', 'flags'])).toBe('hashValues');
    expect(closest('user', ['users', 'usr'])).toBe('users');
    expect(closest('zzzzzz', ['users', 'flags'])).toBeUndefined();
    expect(closest('levl', ['level', 'verbs'], 2)).toBe('level');
    expect(closest('abcdef', ['abc'], 2)).toBeUndefined();
    expect(closest('abcdef', ['abc'], 3)).toBe('abc');
  });

  it('allows a third of the word, at least two edits', () => {
    expect(typoDistance('ab')).toBe(2);
    expect(typoDistance('abcdefghi')).toBe(3);
  });
});
