import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_JSON_DEPTH,
  parseJsonDocument,
  parseJsonText,
  tooDeepAt,
  TooDeepRecord,
  wellFormed,
} from './json-text.js';

/** The depth scan read character by character: what tooDeepAt must agree with. */
function tooDeepAtByCharacter(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length; i++) {
        if (text[i] === '\\') i++;
        else if (text[i] === '"') break;
      }
    } else if (c === '{' || c === '[') {
      if (++depth > limit) return i;
    } else if (c === '}' || c === ']') depth--;
  }
  return -1;
}

describe('tooDeepAt', () => {
  it('agrees with a character-by-character scan on JSON with brackets, quotes and backslashes in strings', () => {
    const tricky = fc.constantFrom('a"b', '\\', '\\"', '{[', ']}', '\\\\"[', 'ü', '');
    const value = fc.letrec((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        tricky,
        fc.string(),
        fc.integer(),
        fc.array(tie('v'), { maxLength: 4 }),
        fc.dictionary(fc.oneof(tricky, fc.string()), tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 6 }), (v, limit) => {
        const text = JSON.stringify(v);
        expect(tooDeepAt(text, limit)).toBe(tooDeepAtByCharacter(text, limit));
      }),
      { numRuns: 2000 },
    );
  });
});

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

  it('in a document of records, replaces only the records nested too deep', () => {
    const deep = (n: number) => `{"verb":"get","requestObject":${'['.repeat(n)}${']'.repeat(n)}}`;
    const list = `{"kind":"EventList","items":[{"verb":"a"},${deep(600)},{"verb":"\\ud800"}]}`;
    const v = parseJsonDocument(list) as { items: unknown[] };
    expect(v.items[0]).toEqual({ verb: 'a' });
    expect(v.items[1]).toBeInstanceOf(TooDeepRecord);
    expect((v.items[1] as TooDeepRecord).message).toBe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    expect(v.items[2]).toEqual({ verb: '\uFFFD' });
    // The deepest record that fits: its own nesting plus the two levels above it.
    const fits = parseJsonDocument(`{"items":[${deep(MAX_JSON_DEPTH - 3)}]}`) as { items: unknown[] };
    expect(fits.items[0]).not.toBeInstanceOf(TooDeepRecord);
    const over = parseJsonDocument(`{"items":[${deep(MAX_JSON_DEPTH - 2)}]}`) as { items: unknown[] };
    expect(over.items[0]).toBeInstanceOf(TooDeepRecord);
    // A top-level array, and CloudWatch logEvents.
    expect((parseJsonDocument(`[${deep(2000)},{"verb":"b"}]`) as unknown[])[0]).toBeInstanceOf(TooDeepRecord);
    expect(
      (parseJsonDocument(`{"logEvents":[${deep(2000)}]}`) as { logEvents: unknown[] }).logEvents[0],
    ).toBeInstanceOf(TooDeepRecord);
    // Too deep outside any record, or a single event: the whole document, with the position.
    expect(parseJsonDocument(`{"items":[],"x":${'['.repeat(600)}${']'.repeat(600)}}`)).toEqual(
      new TooDeepRecord(
        `JSON nested deeper than ${MAX_JSON_DEPTH} levels at position ${MAX_JSON_DEPTH + 15}`,
      ),
    );
    expect(parseJsonDocument(deep(100_000))).toBeInstanceOf(TooDeepRecord);
    expect(() => parseJsonDocument('{"items":[')).toThrow(SyntaxError);
  });

  it('walks nested values', () => {
    expect(wellFormed([{ x: ['\ud800'] }, 1, null])).toEqual([{ x: ['\uFFFD'] }, 1, null]);
  });
});
