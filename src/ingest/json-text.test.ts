import { describe, expect, it } from 'vitest';
import { parseJsonText, wellFormed } from './json-text.js';

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

  it('walks nested values', () => {
    expect(wellFormed([{ x: ['\ud800'] }, 1, null])).toEqual([{ x: ['\uFFFD'] }, 1, null]);
  });
});
