import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, parseJsonText, wellFormed } from './json-text.js';

describe('parseJsonText', () => {
  it('replaces lone surrogates in strings and keys, keeps pairs', () => {
    const v = parseJsonText(
      '{"userAgent":"evil\\ud800","ok":"\\ud83d\\ude00","a":["x\\udc00y"],"k\\udbff":1,"n":{"m":"\\uDFFF"}}',
    );
    expect(v).toEqual({
      userAgent: 'evil\uFFFD',
      ok: '😀',
      a: ['x\uFFFDy'],
      'k\uFFFD': 1,
      n: { m: '\uFFFD' },
    });
    expect(JSON.stringify(v).isWellFormed()).toBe(true);
    expect(JSON.stringify(v)).not.toMatch(/\\u[dD][89a-fA-F]/);
  });

  it('leaves text without escaped surrogates as JSON.parse reads it', () => {
    const text = '{"a":"\\u00e9\\u0000","b":[1,true,null]}';
    expect(parseJsonText(text)).toEqual(JSON.parse(text));
  });

  it('throws what JSON.parse throws', () => {
    expect(() => parseJsonText('{"a":')).toThrow(SyntaxError);
  });

  it('refuses nesting deeper than the limit, naming the position, and ignores brackets in strings', () => {
    const deep = `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`;
    expect(() => parseJsonText(deep)).toThrow(
      new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels at position ${MAX_JSON_DEPTH + 4}`),
    );
    const limit = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(() => parseJsonText(limit)).not.toThrow();
    const brackets = JSON.stringify({ s: '['.repeat(5000), t: '"\\[{'.repeat(1000) });
    expect(parseJsonText(brackets)).toEqual(JSON.parse(brackets));
  });

  it('walks nested values', () => {
    expect(wellFormed([{ x: ['\ud800'] }, 1, null])).toEqual([{ x: ['\uFFFD'] }, 1, null]);
  });
});
