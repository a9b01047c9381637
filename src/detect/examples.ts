// Rule examples: the events each rule ships with that must fire it and that must not. An example event
// is written as the fields that matter; the rest comes from a plain base event (a completed, allowed
// `get` of a pod by alice@example.com from 198.51.100.10 with kubectl). Every example runs in a fresh
// engine holding only its rule, so examples of one rule never disturb another's.
import { parseDuration } from '../core/duration.js';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { microsToTime } from '../core/time.js';
import { normalizeEvent } from '../ingest/normalize.js';
import type { Definitions } from './condition.js';
import { compileRule } from './compile.js';
import { DetectionEngine } from './engine.js';
import { IpLists } from './ip-list.js';
import type { Alert, CompiledRule, ExampleCase } from './types.js';

/** Start time of every example (event times are offsets from it). */
export const EXAMPLE_START_US = Date.UTC(2025, 0, 6, 9, 0, 0) * 1000;

export const BASE_EVENT: Readonly<Record<string, unknown>> = Object.freeze({
  kind: 'Event',
  apiVersion: 'audit.k8s.io/v1',
  level: 'RequestResponse',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/default/pods/web-1',
  verb: 'get',
  user: { username: 'alice@example.com', groups: ['oidc:devs', 'system:authenticated'] },
  sourceIPs: ['198.51.100.10'],
  userAgent: 'kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46',
  objectRef: { resource: 'pods', namespace: 'default', name: 'web-1', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 200 },
  annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
});

function substitute(v: unknown, i: number): unknown {
  if (typeof v === 'string') return v.replace(/\{i\}/g, String(i));
  if (Array.isArray(v)) return v.map((x) => substitute(x, i));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, i)]));
  return v;
}

/** An example event: the base with the given top-level keys replaced (annotations merged; null removes). */
export function exampleEvent(partial: Record<string, unknown>, atUs: number, id: string): AuditEvent {
  const e: Record<string, unknown> = structuredClone(BASE_EVENT) as Record<string, unknown>;
  for (const [k, v] of Object.entries(partial)) {
    if (v === null) delete e[k];
    else if (k === 'annotations' && v && typeof v === 'object')
      e.annotations = { ...(e.annotations as object), ...(v as object) };
    else e[k] = structuredClone(v);
  }
  const time = microsToTime(atUs);
  if (!('auditID' in partial)) e.auditID = id;
  if (!('stageTimestamp' in partial)) e.stageTimestamp = time;
  if (!('requestReceivedTimestamp' in partial)) e.requestReceivedTimestamp = time;
  const n = normalizeEvent(e);
  if ('error' in n) throw new Error(`example event is not valid: ${n.error}`);
  return n.event;
}

/** The events of one example case, in time order. */
export function exampleEvents(c: ExampleCase, ruleId: string): EventRecord[] {
  const out: EventRecord[] = [];
  let t = EXAMPLE_START_US;
  let n = 0;
  c.steps.forEach((step, si) => {
    if (step.at !== undefined) {
      const ms = parseDuration(step.at);
      if (ms === undefined)
        throw new Error(`step ${si + 1}: at ${JSON.stringify(step.at)} is not a duration`);
      t = EXAMPLE_START_US + ms * 1000;
    } else if (si > 0) t += 1_000_000;
    const every = (step.every !== undefined ? parseDuration(step.every) : 1000) ?? 1000;
    const times = step.repeat ?? 1;
    for (let i = 0; i < times; i++) {
      const ev = substitute(step.event, i) as Record<string, unknown>;
      const id = `ex-${ruleId}-${String(++n).padStart(5, '0')}`;
      out.push({ cluster: 'example', event: exampleEvent(ev, t, id) });
      if (i < times - 1) t += every * 1000;
    }
  });
  return out;
}

export interface ExampleResult {
  rule: string;
  name: string;
  expect: 'fire' | 'quiet';
  ok: boolean;
  alerts: Alert[];
  error?: string;
  line?: number;
}

/**
 * Runs one rule's examples, each in a fresh engine. `defs` (the rule set's lists and macros) is needed
 * for examples that redefine some of them.
 */
export function runExamples(rule: CompiledRule, defs?: Definitions): ExampleResult[] {
  const enabled: CompiledRule = { ...rule, def: { ...rule.def, enabled: true } };
  return rule.def.examples.map((c) => {
    const base = { rule: rule.def.id, name: c.name, expect: c.expect, ...(c.line ? { line: c.line } : {}) };
    try {
      let run = enabled;
      if (c.lists || c.macros || c.ipLists) {
        if (!defs) throw new Error('this example redefines lists or macros: run it with its rule set');
        const merged: Definitions = {
          lists: new Map([...defs.lists, ...Object.entries(c.lists ?? {})]),
          macros: new Map([...defs.macros, ...Object.entries(c.macros ?? {})]),
        };
        let ipLists: IpLists | undefined;
        if (c.ipLists) {
          ipLists = new IpLists();
          for (const [name, entries] of Object.entries(c.ipLists)) ipLists.addEntries(name, entries);
        }
        run = compileRule(enabled.def, merged, ipLists);
      }
      const engine = new DetectionEngine([run]);
      const alerts = engine.processBatch(exampleEvents(c, rule.def.id));
      const ok = c.expect === 'fire' ? alerts.length > 0 : alerts.length === 0;
      return { ...base, ok, alerts };
    } catch (err) {
      return { ...base, ok: false, alerts: [], error: (err as Error).message };
    }
  });
}
