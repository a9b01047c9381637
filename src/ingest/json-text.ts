// Parses JSON text from a source (a log line, a document, a webhook body) into values that every later
// stage can store and serialize again. JSON may spell a lone UTF-16 surrogate as an escape (`"\ud800"`),
// which no UTF-8 text can hold: stored as it came, such an event makes the store's JSON functions fail
// for every query that reads it. Lone surrogates become U+FFFD here, in strings and in object keys; the
// rare text that escapes any surrogate at all is walked, the rest pays one search of the text.
// It also refuses JSON nested deeper than MAX_JSON_DEPTH: JSON.parse reads any depth, but every later
// stage that walks an event (redaction, rules, serialization) would run out of stack. A document that
// holds many records (a webhook EventList) is read with parseJsonDocument instead: only the records
// nested too deep are replaced by a TooDeepRecord, which normalization sets aside with its position,
// so one hostile item cannot make a whole batch fail.

/** An escaped UTF-16 surrogate: the text may hold a lone one. */
export const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/;

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

/** Stands for a record nested deeper than MAX_JSON_DEPTH; normalization refuses it with `message`. */
export class TooDeepRecord {
  constructor(readonly message: string) {}
}

/** Where the records of a document are: its top-level array, or the list of an EventList-like object. */
const RECORD_LISTS = ['items', 'records', 'logEvents'] as const;

/**
 * Parses a document that may hold many records (an EventList, AKS `records`, CloudWatch `logEvents`, an
 * array of events). Like parseJsonText, except that nesting deeper than MAX_JSON_DEPTH inside one record
 * replaces only that record by a TooDeepRecord; a document too deep elsewhere becomes a TooDeepRecord
 * as a whole. Throws a SyntaxError only for text that is not JSON.
 */
export function parseJsonDocument(text: string): unknown {
  let value: unknown = JSON.parse(text);
  if (text.length > MAX_JSON_DEPTH) {
    const at = tooDeepAt(text, MAX_JSON_DEPTH);
    if (at >= 0) value = cutTooDeep(value, at);
  }
  return ESCAPED_SURROGATE.test(text) ? wellFormed(value) : value;
}

function cutTooDeep(value: unknown, at: number): unknown {
  const lists: [unknown[], number][] = [];
  if (Array.isArray(value)) lists.push([value, 1]);
  else if (typeof value === 'object' && value !== null) {
    const obj = value as Record<string, unknown>;
    for (const key of RECORD_LISTS) {
      const list = obj[key];
      if (Array.isArray(list)) lists.push([list, 2]);
    }
  }
  for (const [list, above] of lists) {
    for (let i = 0; i < list.length; i++) {
      if (deeperThan(list[i], MAX_JSON_DEPTH - above))
        list[i] = new TooDeepRecord(`JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
  }
  return deeperThan(value, MAX_JSON_DEPTH)
    ? new TooDeepRecord(`JSON nested deeper than ${MAX_JSON_DEPTH} levels at position ${at}`)
    : value;
}

/** Whether a parsed value nests objects and arrays deeper than `limit` (walked without recursion). */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null || v instanceof TooDeepRecord) continue;
    if (depth > limit) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Offset of the bracket that opens level `limit + 1`, or -1; `text` is valid JSON. Strings are skipped
 * by searching for their closing quote (native, several times faster than reading every character:
 * most of an audit event's text is inside strings); a quote is escaped when an odd number of
 * backslashes precede it.
 */
export function tooDeepAt(text: string, limit: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string: its brackets are not nesting.
      for (;;) {
        const q = text.indexOf('"', i + 1);
        if (q < 0) return -1;
        let k = q - 1;
        while (text.charCodeAt(k) === 0x5c) k--;
        i = q;
        if ((q - 1 - k) % 2 === 0) break;
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
