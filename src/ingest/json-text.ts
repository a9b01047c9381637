// Parses JSON text from a source (a log line, a document, a webhook body) into values that every later
// stage can store and serialize again. JSON may spell a lone UTF-16 surrogate as an escape (`"\ud800"`),
// which no UTF-8 text can hold: stored as it came, such an event makes the store's JSON functions fail
// for every query that reads it. Lone surrogates become U+FFFD here, in strings and in object keys; the
// rare text that escapes any surrogate at all is walked, the rest pays one search of the text.

const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

/** JSON.parse, with lone surrogates replaced by U+FFFD. Throws what JSON.parse throws. */
export function parseJsonText(text: string): unknown {
  const value: unknown = JSON.parse(text);
  return ESCAPED_SURROGATE.test(text) ? wellFormed(value) : value;
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
