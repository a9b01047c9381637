// Turns whatever a source delivers into audit.k8s.io/v1 Events by the format registry
// (src/ingest/formats/): a document is expanded by the first document format that recognizes it (an
// EventList, AKS `records`, CloudWatch `logEvents`), and each record is normalized by the first record
// format that recognizes it (audit v1, v1beta1, EKS, AKS, GKE). Says precisely why a record is not an
// event (reason and field path).
import { TooDeepRecord } from './json-text.js';
import { DOCUMENT_FORMATS, FALLBACK_FORMAT, RECORD_FORMATS } from './formats/index.js';
import { fail, isObj, typeName, type Normalized, type NormalizeOptions } from './formats/shape.js';

export type { Normalized, NormalizeOptions } from './formats/shape.js';

/**
 * Expands one JSON document into the records it holds (an EventList's items, AKS `records`, CloudWatch
 * `logEvents`), normalized. Each result is an event or the reason the record is not one.
 */
export function normalizeDocument(value: unknown, opts: NormalizeOptions = {}): Normalized[] {
  if (value instanceof TooDeepRecord) return [fail(value.message)];
  if (!isObj(value)) return [fail(`not an audit event: the record is ${typeName(value)}, not an object`)];
  for (const f of DOCUMENT_FORMATS) if (f.recognize(value)) return f.expand(value, opts, normalizeEvent);
  return [normalizeEvent(value, opts)];
}

/** Normalizes one record that should be a single event, in any of the supported shapes. */
export function normalizeEvent(value: unknown, opts: NormalizeOptions = {}): Normalized {
  if (value instanceof TooDeepRecord) return fail(value.message);
  if (!isObj(value)) return fail(`not an audit event: the record is ${typeName(value)}, not an object`);
  for (const f of RECORD_FORMATS) if (f.recognize(value)) return f.normalize(value, opts, normalizeEvent);
  return FALLBACK_FORMAT.normalize(value, opts, normalizeEvent);
}
