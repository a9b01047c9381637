// Parses JSON text from a source (a log line, a document, a webhook body) into values that every later
// stage can store and serialize again. JSON may spell a lone UTF-16 surrogate as an escape (`"\ud800"`),
// which no UTF-8 text can hold: stored as it came, such an event makes the store's JSON functions fail
// for every query that reads it. Lone surrogates become U+FFFD here, in strings and in object keys; the
// rare text that escapes any surrogate at all is walked, the rest pays one search of the text.
// It also refuses JSON nested deeper than MAX_JSON_DEPTH: JSON.parse reads any depth, but every later
// stage that walks an event (redaction, rules, serialization) would run out of stack.

const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

/** Deepest nesting of objects and arrays accepted (Kubernetes objects stay far below it). */
export const MAX_JSON_DEPTH = 512;

/**
 * JSON.parse, with lone surrogates replaced by U+FFFD. Throws a SyntaxError, as JSON.parse does, for
 * text that is not JSON or that nests deeper than MAX_JSON_DEPTH (naming the position).
 */
export function parseJsonText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  // Nesting deeper than the limit needs more than that many characters: short text is not scanned.
  if (text.length > MAX_JSON_DEPTH) {
    const at = tooDeepAt(text, MAX_JSON_DEPTH);
    if (at >= 0) throw new SyntaxError(`JSON nested deeper than ${MAX_JSON_DEPTH} levels at position ${at}`);
  }
  return ESCAPED_SURROGATE.test(text) ? wellFormed(value) : value;
}

/** Offset of the bracket that opens level `limit + 1`, or -1; `text` is valid JSON. */
function tooDeepAt(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: its brackets are not nesting.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** The value with every string and key well-formed (a lone surrogate replaced by U+FFFD). */
export function wellFormed(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = wellFormed(value[i]);
    return value;
  }
  if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const v = wellFormed(obj[key]);
      if (key.isWellFormed()) obj[key] = v;
      else {
        delete obj[key];
        obj[key.toWellFormed()] = v;
      }
    }
    return obj;
  }
  return value;
}
