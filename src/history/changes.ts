// Turns the stored events about one object into its change history: each write (create, update, patch,
// delete) with who made it (the actor behind it), the outcome, the object's state after it and the
// difference between successive states. States are rebuilt across writes: from response bodies (the
// object as stored) and create/update request bodies they are `known`; a patch applied to a known or
// derived state gives a `derived` one (./patch.ts); a write whose result cannot be computed (logged at
// Metadata level, or a patch of a state never seen) makes it `unknown`, and nothing is invented; a
// delete makes it `deleted`. managedFields and resourceVersion are left out of diffs unless asked for.
// One piece, at about 400 lines: the state rules per verb and subresource are read as one table; patch
// application (./patch.ts) and kind resolution (./kinds.ts) are apart.
import type { AuditEvent, EventRecord } from '../core/event.js';
import { resolveActor } from '../fields/actor.js';
import { eventTime } from '../core/time.js';
import {
  applyJsonPatchFromRoot,
  applyPatch,
  inferPatchType,
  jsonPatchReplacesRoot,
  PatchError,
  strategicReplacesRoot,
  type PatchType,
} from './patch.js';

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export interface FieldChange {
  op: 'add' | 'remove' | 'change';
  /** Dotted path; array indexes as [n]. */
  path: string;
  old?: unknown;
  new?: unknown;
}

/** What is known of the object after a write. */
export type RevisionState = 'known' | 'derived' | 'unknown' | 'deleted';

/** Where a state came from. */
export type StateSource =
  | 'response'
  | 'request'
  | 'json-patch'
  | 'merge-patch'
  | 'strategic-merge-patch'
  | 'apply'
  | 'scale'
  | 'binding'
  | 'none';

const PATCH_SOURCE: Record<PatchType, StateSource> = {
  json: 'json-patch',
  merge: 'merge-patch',
  strategic: 'strategic-merge-patch',
  apply: 'apply',
};

export interface HistoryEntry {
  time: string;
  auditID: string;
  cluster: string;
  verb: string;
  subresource?: string;
  user: string;
  impersonatedUser?: string;
  /** The person or workload behind the request (the `actor` field). */
  actor?: string;
  sourceIP?: string;
  userAgent?: string;
  code?: number;
  /** True when the API server refused the write (code ≥ 400). */
  failed: boolean;
  /** The object's state after this write; absent for reads, refused writes and writes that change nothing. */
  state?: RevisionState;
  /** How the state was obtained. */
  stateSource?: StateSource;
  /** True when the patch type was inferred from the body (the audit log does not record it). */
  patchTypeInferred?: boolean;
  /** Differences against the previous state, when both are known or derived. */
  changes?: FieldChange[];
  /** The patch body as sent, when the resulting object is not in the log. */
  patch?: unknown;
  /** Why no diff is shown, or how the state was reached. */
  note?: string;
}

/** One state of the object: from the write at `from` until the next state (or now). */
export interface Revision {
  /** Index of the write in the entries. */
  entry: number;
  from: string;
  /** When the next revision starts; absent for the last one. */
  to?: string;
  state: RevisionState;
  source: StateSource;
  /** The object, for known and derived states (redacted as stored). */
  object?: Record<string, unknown>;
}

export interface ObjectHistory {
  entries: HistoryEntry[];
  revisions: Revision[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for a full object body (has metadata), false for Status answers and lists. */
function isFullObject(v: unknown): v is Record<string, unknown> {
  return isObject(v) && isObject(v.metadata) && v.kind !== 'Status' && !Array.isArray(v.items);
}

/** A view without the fields that change on every write (managedFields kept when asked); not a deep copy. */
export function comparable(
  obj: Record<string, unknown>,
  opts: { managedFields?: boolean } = {},
): Record<string, unknown> {
  if (!isObject(obj.metadata)) return obj;
  const { managedFields, resourceVersion: _rv, ...meta } = obj.metadata;
  if (opts.managedFields && managedFields !== undefined) meta.managedFields = managedFields;
  return { ...obj, metadata: meta };
}

/**
 * Differences between two JSON values, key by key (arrays index by index): removals and changes in the
 * order of the old value's keys, then additions. Subtrees that are the same object are skipped at once,
 * which makes diffs between a state and one derived from it (which shares what a patch left alone) cheap.
 */
function diffJson(a: unknown, b: unknown, path: string, out: FieldChange[]): void {
  if (a === b) return;
  const bothArrays = Array.isArray(a) && Array.isArray(b);
  const bothObjects = isObject(a) && isObject(b);
  if (!bothArrays && !bothObjects) {
    if (!Object.is(a, b)) out.push({ op: 'change', path, old: a, new: b });
    return;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // Dotted path; array indexes as [n].
  const child = (k: string) => (bothArrays ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`);
  for (const k of Object.keys(x)) {
    if (!Object.hasOwn(y, k)) out.push({ op: 'remove', path: child(k), old: x[k] });
    else diffJson(x[k], y[k], child(k), out);
  }
  for (const k of Object.keys(y)) {
    if (!Object.hasOwn(x, k)) out.push({ op: 'add', path: child(k), new: y[k] });
  }
}

export function diffObjects(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  opts: { managedFields?: boolean } = {},
): FieldChange[] {
  const out: FieldChange[] = [];
  diffJson(comparable(before, opts), comparable(after, opts), '', out);
  return out;
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

/** Subresources whose writes carry or patch the object itself. */
const OBJECT_SUBRESOURCES = new Set(['', 'status', 'ephemeralcontainers', 'resize', 'approval', 'finalize']);
/** Subresources whose writes do not change the object. */
const INERT_SUBRESOURCES = new Set(['exec', 'attach', 'log', 'portforward', 'proxy', 'token']);

interface Step {
  state: RevisionState;
  source: StateSource;
  object?: Record<string, unknown>;
  inferred?: boolean;
  note?: string;
  patch?: unknown;
}

const METADATA_NOTE = 'object body not logged at this level (Metadata)';

/** The state after one successful write, given the state before it (undefined: unknown). */
function stepOf(
  e: AuditEvent,
  before: { state: RevisionState | 'absent'; object?: Record<string, unknown> },
  bodiesHidden: boolean,
): Step | undefined {
  const sub = e.objectRef?.subresource ?? '';
  const known = before.state === 'known' || before.state === 'derived' ? before.object : undefined;
  if (INERT_SUBRESOURCES.has(sub)) return undefined;
  if (e.verb === 'delete') {
    // A delete answered with the object itself leaves it terminating (finalizers) until it is gone.
    if (isFullObject(e.responseObject) && isObject(e.responseObject.metadata)) {
      if (e.responseObject.metadata.deletionTimestamp) {
        return { state: 'known', source: 'response', object: e.responseObject, note: 'terminating' };
      }
    }
    return { state: 'deleted', source: 'none' };
  }
  if (sub === 'eviction') return e.verb === 'create' ? { state: 'deleted', source: 'none' } : undefined;
  if (sub === 'scale' || sub === 'binding') {
    const body = isObject(e.responseObject) ? e.responseObject : e.requestObject;
    if (!known)
      return { state: 'unknown', source: 'none', note: `${sub} of an object whose state is unknown` };
    const next = structuredClone(known);
    const spec = isObject(next.spec) ? next.spec : (next.spec = {});
    if (sub === 'scale' && isObject(body) && isObject(body.spec) && typeof body.spec.replicas === 'number') {
      (spec as Record<string, unknown>).replicas = body.spec.replicas;
      return { state: 'derived', source: 'scale', object: next };
    }
    if (sub === 'binding' && isObject(e.requestObject) && isObject(e.requestObject.target)) {
      const node = e.requestObject.target.name;
      if (typeof node === 'string') {
        (spec as Record<string, unknown>).nodeName = node;
        return { state: 'derived', source: 'binding', object: next };
      }
    }
    return { state: 'unknown', source: 'none', note: `${sub} body not logged` };
  }
  if (!OBJECT_SUBRESOURCES.has(sub)) return undefined;
  if (isFullObject(e.responseObject)) return { state: 'known', source: 'response', object: e.responseObject };
  if ((e.verb === 'create' || e.verb === 'update') && isFullObject(e.requestObject)) {
    return { state: 'known', source: 'request', object: e.requestObject };
  }
  if (bodiesHidden) return { state: 'unknown', source: 'none', note: BODIES_HIDDEN_NOTE };
  if (e.verb === 'patch' && e.requestObject !== undefined) {
    const group = e.objectRef?.apiGroup ?? '';
    const type = inferPatchType(e.requestObject, group, e.requestURI);
    if (!type)
      return { state: 'unknown', source: 'none', patch: e.requestObject, note: 'patch body not understood' };
    const inferred = true;
    try {
      if (known) {
        const object = applyPatch(type, known, e.requestObject);
        if (!isObject(object)) throw new PatchError('the patch does not leave an object');
        return { state: 'derived', source: PATCH_SOURCE[type], object, inferred, patch: e.requestObject };
      }
      // From an unknown state only a patch that replaces the whole object, or an apply that created it
      // (nothing existed before), determines the result.
      let object: unknown;
      if (type === 'json' && jsonPatchReplacesRoot(e.requestObject)) {
        object = applyJsonPatchFromRoot(e.requestObject as unknown[]);
      } else if ((type === 'strategic' || type === 'apply') && strategicReplacesRoot(e.requestObject)) {
        object = applyPatch('strategic', {}, e.requestObject);
      } else if (type === 'apply' && (before.state === 'absent' || e.responseStatus?.code === 201)) {
        object = applyPatch('apply', {}, e.requestObject);
      }
      if (isObject(object)) {
        return { state: 'derived', source: PATCH_SOURCE[type], object, inferred, patch: e.requestObject };
      }
      return {
        state: 'unknown',
        source: 'none',
        patch: e.requestObject,
        note: 'resulting object not logged and the state before the patch is unknown; showing the patch as sent',
      };
    } catch (err) {
      return {
        state: 'unknown',
        source: 'none',
        patch: e.requestObject,
        note: `the patch could not be applied to the rebuilt state (${(err as Error).message}); showing the patch as sent`,
      };
    }
  }
  return { state: 'unknown', source: 'none', note: METADATA_NOTE };
}

/**
 * Builds the history of one object from its stored events (any order): the entries (one per request)
 * and the revisions (one per state). With `includeReads`, gets and lists of the object appear too,
 * without state. With `bodiesHidden` (the records were stripped of their bodies for a caller that may
 * not see them), a write without a body says so instead of blaming the audit level. With
 * `managedFields`, diffs include metadata.managedFields.
 */
export function buildObjectHistory(
  records: readonly EventRecord[],
  opts: { includeReads?: boolean; bodiesHidden?: boolean; managedFields?: boolean } = {},
): ObjectHistory {
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
    .sort((a, b) => {
      const x = eventTime(a.event);
      const y = eventTime(b.event);
      return x < y ? -1 : x > y ? 1 : 0;
    });

  const entries: HistoryEntry[] = [];
  const revisions: Revision[] = [];
  let current: { state: RevisionState | 'absent'; object?: Record<string, unknown> } = { state: 'unknown' };
  // Before a create that opens the history, the object did not exist.
  const firstWrite = requests.find((r) => WRITE_VERBS.has(r.event.verb));
  if (firstWrite?.event.verb === 'create' && !firstWrite.event.objectRef?.subresource) {
    current = { state: 'absent' };
  }
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
    const actor = resolveActor(e)?.actor;
    if (actor) entry.actor = actor;
    if (e.sourceIPs?.[0]) entry.sourceIP = e.sourceIPs[0];
    if (e.userAgent) entry.userAgent = e.userAgent;
    if (typeof code === 'number') entry.code = code;
    entries.push(entry);

    if (!WRITE_VERBS.has(e.verb) || failed || e.verb === 'deletecollection') continue;
    // A request still in flight (no response stage stored) may or may not have changed the object.
    const step = stepOf(e, current, opts.bodiesHidden ?? false);
    if (!step) continue;
    entry.state = step.state;
    entry.stateSource = step.source;
    if (step.inferred) entry.patchTypeInferred = true;
    if (step.object) {
      const previous =
        current.object && (current.state === 'known' || current.state === 'derived')
          ? current.object
          : undefined;
      if (previous) entry.changes = diffObjects(previous, step.object, opts);
      else if (current.state === 'absent' || e.verb === 'create')
        entry.changes = diffObjects({}, step.object, opts);
      else if (step.source === 'response' || step.source === 'request')
        entry.note = 'first version seen; earlier state unknown';
    }
    if (step.patch !== undefined && (!step.object || step.state === 'unknown')) entry.patch = step.patch;
    if (step.note && !entry.note) entry.note = step.note;
    if (step.state === 'unknown' && step.patch !== undefined && !step.note) {
      entry.note = 'resulting object not logged; showing the patch as sent';
    }
    const last = revisions[revisions.length - 1];
    if (last) last.to = entry.time;
    revisions.push({
      entry: entries.length - 1,
      from: entry.time,
      state: step.state,
      source: step.source,
      ...(step.object ? { object: step.object } : {}),
    });
    current = { state: step.state, ...(step.object ? { object: step.object } : {}) };
  }
  return { entries, revisions };
}

/** The entries of an object's history (see buildObjectHistory). */
export function buildHistory(
  records: readonly EventRecord[],
  opts: { includeReads?: boolean; bodiesHidden?: boolean; managedFields?: boolean } = {},
): HistoryEntry[] {
  return buildObjectHistory(records, opts).entries;
}

/** What the object was at a moment. */
export interface StateAt {
  /** `absent`: before the create that opens the history. */
  state: RevisionState | 'absent';
  source?: StateSource;
  /** The revision in force (its start), when there is one. */
  since?: string;
  auditID?: string;
  object?: Record<string, unknown>;
}

/** The object's state at `time` (RFC 3339) from a built history. */
export function stateAt(h: ObjectHistory, time: string): StateAt {
  const t = Date.parse(time);
  let found: Revision | undefined;
  for (const r of h.revisions) {
    if (Date.parse(r.from) <= t) found = r;
    else break;
  }
  if (!found) {
    const first = h.revisions[0];
    const opensWithCreate =
      first && h.entries[first.entry]?.verb === 'create' && !h.entries[first.entry]?.subresource;
    return { state: opensWithCreate ? 'absent' : 'unknown' };
  }
  const entry = h.entries[found.entry]!;
  return {
    state: found.state,
    source: found.source,
    since: found.from,
    auditID: entry.auditID,
    ...(found.object ? { object: found.object } : {}),
  };
}
