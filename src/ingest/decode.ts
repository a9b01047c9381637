// The one JSON decode of the write path: the text of one record or document (a log line, a file that is
// one document, a webhook body) becomes normalized records, and what cannot be used is set aside in the
// quarantine with its position: the file (or request), the line, the column of a JSON syntax error, the
// path of an item inside a document (`items[3].verb`). Used by the file reader (import, query --file), the
// live file source and the webhook; the shapes themselves are recognized by the format registry
// (src/ingest/formats/).
import type { EventRecord } from '../core/event.js';
import { normalizeDocument, type NormalizeOptions } from './normalize.js';
import { parseJsonDocument, parseJsonText } from './json-text.js';
import type { Quarantine } from './quarantine.js';

/** Where decoded records go, and where what is not an event is set aside. */
export interface DecodeTarget {
  /** The file (or request) the text comes from, as the quarantine names it. */
  file: string;
  cluster: string;
  /** Without a quarantine, records that are not events are only left out (counted by the caller). */
  quarantine: Quarantine | undefined;
  out: EventRecord[];
}

export type ParsedJson = { value: unknown } | { error: string; column?: number };

/**
 * Parses one JSON text. With `many`, the text is a document that may hold many records (an EventList,
 * AKS `records`, CloudWatch `logEvents`): a record nested too deep is replaced by a TooDeepRecord that
 * normalization sets aside alone instead of failing the whole document.
 */
export function parseJson(text: string, many = false): ParsedJson {
  try {
    return { value: many ? parseJsonDocument(text) : parseJsonText(text) };
  } catch (err) {
    const error = (err as Error).message;
    const pos = /position (\d+)/.exec(error);
    return pos ? { error, column: Number(pos[1]) + 1 } : { error };
  }
}

/**
 * Normalizes a parsed value into `t.out`; each item that is not an event is set aside with `line`, its
 * path (after `prefix`, e.g. `[2]` for the third element of a JSON array) and `raw` (the text, or a
 * function asked for it once).
 * Returns how many items were set aside.
 */
export function acceptValue(
  value: unknown,
  line: number,
  t: DecodeTarget,
  raw: string | (() => string),
  prefix?: string,
  opts?: NormalizeOptions,
): number {
  let bad = 0;
  let rawText: string | undefined;
  for (const n of normalizeDocument(value, opts)) {
    if ('event' in n) {
      t.out.push({ cluster: t.cluster, event: n.event });
      continue;
    }
    bad++;
    if (!t.quarantine) continue;
    const where = prefix && n.path ? `${prefix}.${n.path}` : (prefix ?? n.path);
    let recordText: string;
    if ('record' in n) {
      // The one item of a container, not the whole document once per bad item.
      recordText = itemText(n.record);
    } else {
      rawText ??= typeof raw === 'string' ? raw : raw();
      recordText = rawText;
    }
    t.quarantine.add({
      file: t.file,
      line,
      reason: where ? `${n.error} (at ${where})` : n.error,
      raw: recordText,
    });
  }
  return bad;
}

/** Most characters of one set-aside item of a container that the quarantine keeps. */
const MAX_ITEM_TEXT = 65536;

function itemText(item: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(item);
  } catch {
    text = undefined;
  }
  return (text ?? String(item)).slice(0, MAX_ITEM_TEXT);
}

export interface LineOptions {
  /** A byte order mark at its start is dropped (the first line of a file). */
  dropBom?: boolean;
  /** The line ends the input without a newline: a syntax error is reported as a truncated record. */
  endOfInput?: boolean;
  /**
   * Hears a line that is not JSON before it is set aside; returning true takes the line over (the file
   * reader's multi-line documents) and nothing is set aside.
   */
  onInvalid?: (text: string, error: string) => boolean;
}

/** decodeLine's answer for a line with nothing but white space. */
export const BLANK_LINE = -1;
/** decodeLine's answer for a line that is not JSON (set aside, or taken over by `onInvalid`). */
export const INVALID_LINE = -2;

const NO_OPTIONS: LineOptions = {};

/**
 * Decodes one line of JSON lines (as the API server's log backend writes them) into `t.out`. Returns how
 * many of its items were set aside, or BLANK_LINE, or INVALID_LINE.
 */
export function decodeLine(
  textIn: string,
  line: number,
  t: DecodeTarget,
  opts: LineOptions = NO_OPTIONS,
): number {
  let text = textIn;
  if (opts.dropBom && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return BLANK_LINE;
  const parsed = parseJson(text);
  if ('error' in parsed) {
    if (opts.onInvalid?.(text, parsed.error)) return INVALID_LINE;
    t.quarantine?.add({
      file: t.file,
      line,
      reason: opts.endOfInput
        ? `truncated record at end of input: ${parsed.error}`
        : `invalid JSON: ${parsed.error}`,
      raw: text,
      ...(parsed.column !== undefined ? { column: parsed.column } : {}),
    });
    return INVALID_LINE;
  }
  return acceptValue(parsed.value, line, t, text);
}
