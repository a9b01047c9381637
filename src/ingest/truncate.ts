// Caps the size of one event, as the API server's truncate backend does (K8S-AUDIT-FACTS.md, item 11),
// so that one oversized event cannot break the queries over the rest (a 50 MB body made every DuckDB
// query over a body path run out of memory) nor take seconds to show. An event whose JSON is larger
// than the cap loses `requestObject` and `responseObject` and gains the annotation
// `audit.k8s.io/truncated: "true"`; its metadata is kept. An event still too large (huge annotations, a
// hostile requestURI) has its longest strings, arrays and objects cut further until it fits: an event is
// never dropped. The user agent is cut at 1024 bytes with `...TRUNCATED` appended, as the API server
// does. Applied as a pipeline transform by every source (webhook, file tail, import).
import type { AuditEvent, EventRecord } from '../core/event.js';
import type { Transform } from '../core/transform.js';

/** The annotation the API server (and kubetrail) sets on an event whose bodies were dropped. */
export const TRUNCATED_ANNOTATION = 'audit.k8s.io/truncated';

/**
 * Default cap per event: 3 MiB. An object is at most about 1.5 MiB (etcd's default request limit), so
 * an event with the request or the response of any object keeps it; only events near or above twice
 * that size, which no query or page handles well, lose their bodies.
 */
export const DEFAULT_MAX_EVENT_BYTES = 3 * 1024 * 1024;
/** Smallest cap accepted: what any event's metadata fits in once long strings are cut. */
export const MIN_MAX_EVENT_BYTES = 64 * 1024;
/** Largest cap accepted (1 GiB). */
export const MAX_MAX_EVENT_BYTES = 1024 ** 3;

/** The API server's user-agent limit (bytes) and the suffix it appends to a longer one. */
export const MAX_USER_AGENT_BYTES = 1024;
export const TRUNCATED_SUFFIX = '...TRUNCATED';

const FIELDS_KEPT_WHOLE = new Set([
  'kind',
  'apiVersion',
  'level',
  'stage',
  'verb',
  'stageTimestamp',
  'requestReceivedTimestamp',
]);

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const sizeOf = (e: unknown) => bytes(JSON.stringify(e));

/**
 * Whether `value` serializes to at most `max` bytes of JSON, without serializing it in the common case:
 * a walk adds an upper bound of each part's size (6 bytes per UTF-16 unit of a string, the longest a JSON
 * escape takes; 24 per number or literal; quotes, colons and commas) and answers as soon as the bound
 * exceeds `max`, where the exact size is computed instead. Events are far below the cap, so almost every
 * event is decided by the walk alone, which costs a fraction of JSON.stringify.
 */
export function fitsIn(value: unknown, max: number): boolean {
  let bound = 0;
  const add = (v: unknown): boolean => {
    if (typeof v === 'string') bound += 6 * v.length + 2;
    else if (Array.isArray(v)) {
      bound += 2 + v.length;
      for (const x of v) if (!add(x)) return false;
    } else if (typeof v === 'object' && v !== null) {
      bound += 2;
      for (const k in v) {
        bound += 6 * k.length + 4;
        if (!add((v as Record<string, unknown>)[k])) return false;
      }
    } else bound += 24;
    return bound <= max;
  };
  return add(value) || sizeOf(value) <= max;
}

/** The longest prefix of `s` of at most `max` UTF-8 bytes that does not split a character. */
export function cutUtf8(s: string, max: number): string {
  if (s.length * 3 <= max || bytes(s) <= max) return s;
  let n = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const w = c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? 4 : 3;
    if (n + w > max) break;
    n += w;
    if (w === 4) i++; // the low surrogate of the pair
  }
  return s.slice(0, i);
}

export interface TruncateResult {
  event: AuditEvent;
  /** The bodies were dropped (and, if needed, more was cut). */
  truncated: boolean;
}

/** Applies the user-agent limit and the cap to one event; returns the same object when nothing is cut. */
export function truncateEvent(event: AuditEvent, maxBytes: number): TruncateResult {
  let e = event;
  if (typeof e.userAgent === 'string' && e.userAgent.length > MAX_USER_AGENT_BYTES / 3) {
    const ua = cutUtf8(e.userAgent, MAX_USER_AGENT_BYTES);
    if (ua !== e.userAgent) e = { ...e, userAgent: ua + TRUNCATED_SUFFIX };
  }
  if (fitsIn(e, maxBytes)) return { event: e, truncated: false };
  const { requestObject: _req, responseObject: _res, ...rest } = e;
  const mark = (x: AuditEvent): AuditEvent => ({
    ...x,
    annotations: { ...(x.annotations ?? {}), [TRUNCATED_ANNOTATION]: 'true' },
  });
  let cut = mark(rest as AuditEvent);
  // Still too large: cut every string longer than `len` bytes and every list or object longer than
  // `items`, halving both until the event fits.
  for (let len = 4096, items = 256; sizeOf(cut) > maxBytes && len >= 16; len >>= 1, items >>= 1) {
    cut = mark(shrink(rest, len, Math.max(items, 1)) as AuditEvent);
  }
  if (sizeOf(cut) > maxBytes) cut = mark(skeleton(e));
  return { event: cut, truncated: true };
}

/** A copy with long strings, lists and objects cut (recursive: events nest at most 512 levels). */
function shrink(value: unknown, len: number, items: number, key?: string): unknown {
  if (typeof value === 'string') {
    if (key !== undefined && FIELDS_KEPT_WHOLE.has(key)) return value;
    const s = cutUtf8(value, len);
    return s === value ? value : s + TRUNCATED_SUFFIX;
  }
  if (Array.isArray(value)) return value.slice(0, items).map((v) => shrink(v, len, items));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).slice(0, items)) {
      out[cutUtf8(k, len)] = shrink(v, len, items, k);
    }
    return out;
  }
  return value;
}

/** The fields that make an event an event, each cut short: the last resort, never larger than ~2 KiB. */
function skeleton(e: AuditEvent): AuditEvent {
  const s = (v: unknown) => (typeof v === 'string' ? cutUtf8(v, 128) : undefined);
  const code = e.responseStatus?.code;
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: e.level,
    auditID: s(e.auditID) ?? '',
    stage: e.stage,
    requestURI: s(e.requestURI) ?? '',
    verb: s(e.verb) ?? '',
    user: { ...(s(e.user?.username) !== undefined ? { username: s(e.user?.username)! } : {}) },
    requestReceivedTimestamp: e.requestReceivedTimestamp,
    stageTimestamp: e.stageTimestamp,
    ...(typeof code === 'number' ? { responseStatus: { code } } : {}),
  } as AuditEvent;
}

/** Counts what the transform cut. */
export interface TruncateStats {
  truncated: number;
}

/** The pipeline transform: every event capped at `maxBytes`; `onTruncated` is told of each one cut. */
export function truncateTransform(
  maxBytes: number,
  onTruncated?: (record: EventRecord) => void,
): Transform & { stats: TruncateStats } {
  const stats: TruncateStats = { truncated: 0 };
  return {
    name: 'truncate',
    stats,
    apply(batch) {
      let out: EventRecord[] | undefined;
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i]!;
        const t = truncateEvent(r.event, maxBytes);
        if (t.event === r.event) continue;
        out ??= batch.slice();
        out[i] = { ...r, event: t.event };
        if (t.truncated) {
          stats.truncated++;
          onTruncated?.(out[i]!);
        }
      }
      return out ?? batch;
    },
  };
}
