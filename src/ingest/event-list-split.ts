// Parses a large EventList body (what the API server's audit webhook sends) item by item, straight from
// its bytes, instead of as one string. A body of a few hundred events is hundreds of kilobytes: as one
// JavaScript string it lands in V8's large-object space, and decoding it, scanning it for depth and
// collecting it cost more than parsing the events (the webhook spent a sixth of its time there). Here a
// byte scanner finds the top-level `items` array and the bounds of each item; each item is decoded and
// parsed alone, and the rest of the object (`items` emptied) is parsed as the envelope. The value is the
// one parseJsonDocument gives for the whole text: the same items, TooDeepRecord for an item nested too
// deep, lone surrogates replaced. Whatever the scanner does not expect (another shape, a syntax error, a
// second `items`, an envelope nested too deep) returns undefined, and the caller parses the whole text as
// before, with its error positions.
import { deeperThan, ESCAPED_SURROGATE, MAX_JSON_DEPTH, TooDeepRecord, wellFormed } from './json-text.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** The bytes of `"items"`, the key whose array is split. */
const ITEMS_KEY = Buffer.from('"items"');

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Deepest nesting of an item (it sits inside the object and its array). */
const ITEM_DEPTH = MAX_JSON_DEPTH - 2;

/** Bodies smaller than this are parsed whole: their text stays out of the large-object space. */
export const SPLIT_MIN_BYTES = 64 * 1024;

class Scanner {
  i = 0;
  /** Deepest nesting met by the last skipValue. */
  maxDepth = 0;

  constructor(private readonly b: Buffer) {}

  spaces(): number {
    const b = this.b;
    while (this.i < b.length && isSpace(b[this.i]!)) this.i++;
    return this.i < b.length ? b[this.i]! : -1;
  }

  /** At a quote: moves past the string's closing quote; false when the text ends first. */
  skipString(): boolean {
    const b = this.b;
    let at = this.i + 1;
    for (;;) {
      const q = b.indexOf(QUOTE, at);
      if (q < 0) return false;
      // The quote is escaped when an odd number of backslashes precede it.
      let n = 0;
      while (q - 1 - n > this.i && b[q - 1 - n] === BACKSLASH) n++;
      if (n % 2 === 0) {
        this.i = q + 1;
        return true;
      }
      at = q + 1;
    }
  }

  /**
   * Moves past one value (checking only its brackets and strings: JSON.parse checks the rest), noting
   * its deepest nesting in maxDepth; false when the brackets do not close.
   */
  skipValue(): boolean {
    const b = this.b;
    const c = b[this.i];
    this.maxDepth = 0;
    if (c === QUOTE) return this.skipString();
    if (c !== OPEN_BRACE && c !== OPEN_BRACKET) {
      // A number, true, false or null: up to the next delimiter.
      while (this.i < b.length) {
        const d = b[this.i]!;
        if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
        this.i++;
      }
      return true;
    }
    let depth = 0;
    while (this.i < b.length) {
      const d = b[this.i]!;
      if (d === QUOTE) {
        if (!this.skipString()) return false;
        continue;
      }
      if (d === OPEN_BRACE || d === OPEN_BRACKET) {
        depth++;
        if (depth > this.maxDepth) this.maxDepth = depth;
      } else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        depth--;
        if (depth === 0) {
          this.i++;
          return true;
        }
      }
      this.i++;
    }
    return false;
  }
}

/**
 * JSON.parse of a piece, with lone surrogates replaced; undefined when the piece is not JSON. `escapes`
 * false says the piece holds no backslash, so no escaped surrogate either.
 */
function parsePiece(text: string, escapes = true): { value: unknown } | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return { value: escapes && ESCAPED_SURROGATE.test(text) ? wellFormed(value) : value };
  } catch {
    return undefined;
  }
}

/**
 * The value of an EventList-like body (an object with one top-level `items` array), parsed item by item;
 * undefined when the body is anything else or not JSON (see the header comment).
 */
export function parseEventListBody(b: Buffer): unknown {
  const s = new Scanner(b);
  if (s.spaces() !== OPEN_BRACE) return undefined;
  s.i++;
  let itemsAt: [number, number] | undefined;
  const items: [number, number, number][] = [];
  if (s.spaces() === CLOSE_BRACE) return undefined;
  for (;;) {
    if (s.spaces() !== QUOTE) return undefined;
    const keyStart = s.i;
    if (!s.skipString()) return undefined;
    const key = b.subarray(keyStart, s.i);
    // A key spelled with an escape may be `items` to JSON.parse: left to the whole text's parse.
    if (key.includes(BACKSLASH)) return undefined;
    const isItems = key.equals(ITEMS_KEY);
    // A second `items` (JSON.parse keeps the last): left to the whole text's parse.
    if (isItems && itemsAt !== undefined) return undefined;
    if (s.spaces() !== COLON) return undefined;
    s.i++;
    const c = s.spaces();
    if (c < 0) return undefined;
    if (isItems && c === OPEN_BRACKET) {
      const open = s.i;
      s.i++;
      if (s.spaces() !== CLOSE_BRACKET) {
        for (;;) {
          if (s.spaces() < 0) return undefined;
          const start = s.i;
          if (!s.skipValue() || s.i === start) return undefined;
          items.push([start, s.i, s.maxDepth]);
          const d = s.spaces();
          if (d === COMMA) {
            s.i++;
            continue;
          }
          if (d === CLOSE_BRACKET) break;
          return undefined;
        }
      }
      s.i++;
      itemsAt = [open, s.i];
    } else if (!s.skipValue()) return undefined;
    const d = s.spaces();
    if (d === COMMA) {
      s.i++;
      continue;
    }
    if (d === CLOSE_BRACE) {
      s.i++;
      break;
    }
    return undefined;
  }
  if (s.spaces() !== -1 || itemsAt === undefined) return undefined;

  // The envelope: the object with its items array emptied (checked to parse with that empty array).
  const envelopeText = `${b.toString('utf8', 0, itemsAt[0])}[]${b.toString('utf8', itemsAt[1])}`;
  const envelope = parsePiece(envelopeText);
  if (!envelope || typeof envelope.value !== 'object' || envelope.value === null) return undefined;
  const list = (envelope.value as Record<string, unknown>).items;
  if (!Array.isArray(list) || list.length !== 0) return undefined;
  // An envelope nested too deep elsewhere is rare: the whole text's parse decides what it becomes.
  if (envelopeText.length > ITEM_DEPTH && deeperThan(envelope.value, MAX_JSON_DEPTH)) return undefined;
  // Where the body's next backslash is (its length when none is left): an item ending before it holds
  // no escape, and its text need not be searched for escaped surrogates.
  let backslash = -1;
  for (const [start, end, depth] of items) {
    if (depth > ITEM_DEPTH) {
      // Still JSON? The whole text's parse says where it is not.
      if (!parsePiece(b.toString('utf8', start, end))) return undefined;
      list.push(new TooDeepRecord(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
      continue;
    }
    if (backslash < start) {
      const at = b.indexOf(BACKSLASH, start);
      backslash = at < 0 ? b.length : at;
    }
    const item = parsePiece(b.toString('utf8', start, end), backslash < end);
    if (!item) return undefined;
    list.push(item.value);
  }
  return envelope.value;
}
