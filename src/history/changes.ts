// Turns the stored events about one object into its change history: each write (create, update, patch,
// delete) with who made it, the outcome, and the difference between the object's successive versions.
// Versions come from response bodies (the object as stored), else from create/update request bodies;
// a patch logged without its response shows the patch as sent. managedFields and resourceVersion are
// left out of diffs: they change on every write and say nothing about intent.
import diff from 'microdiff';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { eventTime } from '../fields/catalog.js';

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface FieldChange {
  op: 'add' | 'remove' | 'change';
  /** Dotted path; array indexes as [n]. */
  path: string;
  old?: unknown;
  new?: unknown;
}

export interface HistoryEntry {
  time: string;
  auditID: string;
  cluster: string;
  verb: string;
  subresource?: string;
  user: string;
  impersonatedUser?: string;
  sourceIP?: string;
  userAgent?: string;
  code?: number;
  /** True when the API server refused the write (code ≥ 400). */
  failed: boolean;
  /** Differences against the previous known version, when both versions are known. */
  changes?: FieldChange[];
  /** The patch body as sent, when the resulting object is not in the log. */
  patch?: unknown;
  /** Why no diff is shown, when none is. */
  note?: string;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for a full object body (has metadata), false for Status answers and lists. */
function isFullObject(v: unknown): v is Record<string, unknown> {
  return isObject(v) && isObject(v.metadata) && v.kind !== 'Status' && !Array.isArray(v.items);
}

/** A copy without the fields that change on every write. */
export function comparable(obj: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(obj);
  if (isObject(copy.metadata)) {
    delete copy.metadata.managedFields;
    delete copy.metadata.resourceVersion;
  }
  return copy;
}

function pathText(path: (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

export function diffObjects(before: Record<string, unknown>, after: Record<string, unknown>): FieldChange[] {
  return diff(comparable(before), comparable(after)).map((d) => {
    const path = pathText(d.path);
    if (d.type === 'CREATE') return { op: 'add', path, new: d.value };
    if (d.type === 'REMOVE') return { op: 'remove', path, old: d.oldValue };
    return { op: 'change', path, old: d.oldValue, new: d.value };
  });
}

/** The object's state after this event, when the event shows it. */
function stateAfter(e: AuditEvent): Record<string, unknown> | undefined {
  if (e.verb === 'delete' || e.verb === 'deletecollection') return undefined;
  if (isFullObject(e.responseObject)) return e.responseObject;
  if ((e.verb === 'create' || e.verb === 'update') && isFullObject(e.requestObject)) return e.requestObject;
  return undefined;
}

/** The note of a write whose bodies the caller may not see (they may well be in the log). */
export const BODIES_HIDDEN_NOTE = 'hidden: this token may not see bodies';

/** Best stage to represent a request: ResponseComplete, else Panic, else the last one stored. */
function pickStage(stages: EventRecord[]): EventRecord {
  return (
    stages.find((r) => r.event.stage === 'ResponseComplete') ??
    stages.find((r) => r.event.stage === 'Panic') ??
    stages[stages.length - 1]!
  );
}

/**
 * Builds the history of one object from its stored events (any order). With `includeReads`, gets and
 * lists of the object appear too, without diffs. With `bodiesHidden` (the records were stripped of their
 * bodies for a caller that may not see them), a write without a body says so instead of blaming the
 * audit level.
 */
export function buildHistory(
  records: readonly EventRecord[],
  opts: { includeReads?: boolean; bodiesHidden?: boolean } = {},
): HistoryEntry[] {
  const byRequest = new Map<string, EventRecord[]>();
  for (const r of records) {
    const key = `${r.cluster}\u0000${r.event.auditID}`;
    const list = byRequest.get(key);
    if (list) list.push(r);
    else byRequest.set(key, [r]);
  }
  const requests = [...byRequest.values()]
    .map(pickStage)
    .filter((r) => opts.includeReads || WRITE_VERBS.has(r.event.verb))
    .sort((a, b) => eventTime(a.event).localeCompare(eventTime(b.event)));

  const out: HistoryEntry[] = [];
  let previous: Record<string, unknown> | undefined;
  for (const r of requests) {
    const e = r.event;
    const code = e.responseStatus?.code;
    const failed = typeof code === 'number' && code >= 400;
    const entry: HistoryEntry = {
      time: eventTime(e),
      auditID: e.auditID,
      cluster: r.cluster,
      verb: e.verb,
      user: e.user?.username ?? '',
      failed,
    };
    if (e.objectRef?.subresource) entry.subresource = e.objectRef.subresource;
    if (e.impersonatedUser?.username) entry.impersonatedUser = e.impersonatedUser.username;
    if (e.sourceIPs?.[0]) entry.sourceIP = e.sourceIPs[0];
    if (e.userAgent) entry.userAgent = e.userAgent;
    if (typeof code === 'number') entry.code = code;

    if (WRITE_VERBS.has(e.verb) && !failed) {
      const after = stateAfter(e);
      if (after && previous) entry.changes = diffObjects(previous, after);
      else if (after && e.verb === 'create') entry.changes = diffObjects({}, after);
      else if (opts.bodiesHidden && !after && e.verb !== 'delete' && e.verb !== 'deletecollection') {
        entry.note = BODIES_HIDDEN_NOTE;
      } else if (e.verb === 'patch' && e.requestObject !== undefined && !after) {
        entry.patch = e.requestObject;
        entry.note = 'resulting object not logged (level Request or lower); showing the patch as sent';
      } else if (!after && e.verb !== 'delete' && e.verb !== 'deletecollection') {
        entry.note = 'object body not logged at this level (Metadata)';
      } else if (after && !previous) {
        entry.note = 'first version seen; earlier state unknown';
      }
      if (after) previous = after;
      if (e.verb === 'delete' || e.verb === 'deletecollection') previous = undefined;
    }
    out.push(entry);
  }
  return out;
}
