// Applies a policy decision to an event that was logged under a richer policy, as if the API server had
// logged it under this one: drops it (level None, omitted stage), downgrades it (a lower level strips the
// request and/or response body) and strips metadata.managedFields when the policy says so. Also the
// import/pipeline transform built on it. Input events are never modified: changed events are copies.
import type { AuditEvent, EventRecord, Level } from '../core/event.js';
import type { Transform } from '../core/transform.js';
import { levelRank, PolicyEvaluator } from './evaluate.js';
import type { Decision, Policy } from './types.js';

export type Outcome = 'kept' | 'downgraded' | 'dropped';

export interface Applied {
  outcome: Outcome;
  /** The event as it would have been logged; undefined when dropped. */
  event?: AuditEvent;
  /** Why it was dropped or changed, for reports. */
  reason?: 'level None' | 'stage omitted' | 'body stripped' | 'managed fields stripped';
}

function withoutManagedFields(obj: unknown): { value: unknown; changed: boolean } {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { value: obj, changed: false };
  const o = obj as Record<string, unknown>;
  let changed = false;
  let out: Record<string, unknown> = o;
  const meta = o.metadata;
  if (meta && typeof meta === 'object' && !Array.isArray(meta) && 'managedFields' in meta) {
    const { managedFields: _drop, ...rest } = meta as Record<string, unknown>;
    out = { ...out, metadata: rest };
    changed = true;
  }
  // Lists (PodList, …): each item's managed fields, as the API server strips them from list responses.
  if (Array.isArray(o.items)) {
    let itemsChanged = false;
    const items = o.items.map((it) => {
      const r = withoutManagedFields(it);
      if (r.changed) itemsChanged = true;
      return r.value;
    });
    if (itemsChanged) {
      out = { ...out, items };
      changed = true;
    }
  }
  return { value: out, changed };
}

/** The event as the decision would have logged it. */
export function applyDecision(event: AuditEvent, decision: Decision): Applied {
  if (decision.level === 'None') return { outcome: 'dropped', reason: 'level None' };
  if (decision.omitStages.includes(event.stage)) return { outcome: 'dropped', reason: 'stage omitted' };
  let out: AuditEvent = event;
  let reason: Applied['reason'];
  const current: Level = levelRank(event.level) >= 0 ? event.level : 'RequestResponse';
  if (levelRank(decision.level) < levelRank(current)) {
    out = { ...event, level: decision.level };
    if (decision.level === 'Metadata') {
      delete out.requestObject;
      delete out.responseObject;
    } else if (decision.level === 'Request') {
      delete out.responseObject;
    }
    reason = 'body stripped';
  }
  if (decision.omitManagedFields) {
    // A patch body is the patch as sent; the API server strips managed fields from objects only.
    if (out.requestObject !== undefined && out.verb !== 'patch') {
      const r = withoutManagedFields(out.requestObject);
      if (r.changed) {
        out = out === event ? { ...event } : out;
        out.requestObject = r.value;
        reason ??= 'managed fields stripped';
      }
    }
    if (out.responseObject !== undefined) {
      const r = withoutManagedFields(out.responseObject);
      if (r.changed) {
        out = out === event ? { ...event } : out;
        out.responseObject = r.value;
        reason ??= 'managed fields stripped';
      }
    }
  }
  return out === event
    ? { outcome: 'kept', event }
    : { outcome: 'downgraded', event: out, ...(reason ? { reason } : {}) };
}

export interface PolicyTransform extends Transform {
  readonly counts: { kept: number; downgraded: number; dropped: number };
}

/** The `import --policy` (and live pipeline) transform: applies the policy to every record. */
export function policyTransform(policy: Policy): PolicyTransform {
  const evaluator = new PolicyEvaluator(policy);
  const counts = { kept: 0, downgraded: 0, dropped: 0 };
  return {
    name: 'apply-policy',
    counts,
    apply(batch: EventRecord[]): EventRecord[] {
      const out: EventRecord[] = [];
      for (const r of batch) {
        const applied = applyDecision(r.event, evaluator.evaluateEvent(r.event));
        counts[applied.outcome]++;
        if (applied.event) out.push(applied.event === r.event ? r : { ...r, event: applied.event });
      }
      return out;
    },
  };
}
