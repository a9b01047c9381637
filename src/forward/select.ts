// Which events a forwarder takes and which of their parts: the filter (compiled once to a predicate) and
// the field choice (dotted paths of the audit event to include or exclude). The event's identity and
// time (auditID, stage, requestReceivedTimestamp, stageTimestamp) are always kept. Records carry the
// store's content hash of the whole stored event, computed once for every forwarder.
import type { EventRecord } from '../core/event.js';
import { contentHash } from '../store/columns.js';
import type { ResolvedForwarder } from './spec.js';
import type { ForwardRecord } from './types.js';

const ALWAYS = ['auditID', 'stage', 'requestReceivedTimestamp', 'stageTimestamp'];

/** The record with its content hash, as the store computes it for the stored event. */
export function hashed(record: EventRecord): ForwardRecord {
  return {
    cluster: record.cluster,
    hash: contentHash(record.cluster, JSON.stringify(record.event)),
    event: record.event as ForwardRecord['event'],
  };
}

function getPath(obj: unknown, parts: readonly string[]): unknown {
  let cur = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, p)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, parts: readonly string[], value: unknown): void {
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = cur[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      Object.defineProperty(cur, p, { value: fresh, enumerable: true, writable: true, configurable: true });
      cur = fresh;
    } else cur = next as Record<string, unknown>;
  }
  Object.defineProperty(cur, parts.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of `obj` without the path, sharing what it does not change. */
function withoutPath(obj: Record<string, unknown>, parts: readonly string[]): Record<string, unknown> {
  const [head, ...rest] = parts;
  if (head === undefined || !Object.prototype.hasOwnProperty.call(obj, head)) return obj;
  const copy = { ...obj };
  if (rest.length === 0) delete copy[head];
  else {
    const child = obj[head];
    if (child === null || typeof child !== 'object' || Array.isArray(child)) return obj;
    copy[head] = withoutPath(child as Record<string, unknown>, rest);
  }
  return copy;
}

/** Splits a dotted path; an annotation key (annotations.authorization.k8s.io/decision) stays whole. */
export function splitPath(p: string): string[] {
  const [first, ...rest] = p.split('.');
  if (first === 'annotations' && rest.length > 0) return [first, rest.join('.')];
  return [first!, ...rest];
}

export type Selector = (record: ForwardRecord) => ForwardRecord | undefined;

/** The forwarder's filter and field choice, as one function (undefined: the record is not forwarded). */
export function selector(f: Pick<ResolvedForwarder, 'predicate' | 'config'>): Selector {
  const include = f.config.fields?.include?.map(splitPath);
  const exclude = f.config.fields?.exclude?.map(splitPath) ?? [];
  const predicate = f.predicate;
  return (r) => {
    if (predicate && !predicate({ cluster: r.cluster, event: r.event as EventRecord['event'] }))
      return undefined;
    let event = r.event as Record<string, unknown>;
    if (include) {
      const picked: Record<string, unknown> = {};
      for (const parts of [...ALWAYS.map((a) => [a]), ...include]) {
        const v = getPath(event, parts);
        if (v !== undefined) setPath(picked, parts, v);
      }
      event = picked;
    }
    for (const parts of exclude) {
      if (parts.length === 1 && ALWAYS.includes(parts[0]!)) continue;
      event = withoutPath(event, parts);
    }
    return event === r.event ? r : { ...r, event: event as ForwardRecord['event'] };
  };
}
