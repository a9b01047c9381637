// The detection engine: evaluates compiled rules over events in the order they arrive, keeping the state
// that aggregation (sliding windows), first-seen (values seen per key, learning period) and suppression
// need. Time is the events' own time, never the wall clock, so hunting over history raises exactly the
// alerts the live stream raised. The state is plain data: it is saved and restored across restarts.
import { createHash } from 'node:crypto';
import type { EventRecord } from '../core/event.js';
import { eventTime, microsToTime, timeToMicros } from '../core/time.js';
import { formatDuration } from '../core/duration.js';
import { renderTemplate } from './template.js';
import type { Alert, CompiledRule } from './types.js';

/** Bounds on remembered state, per rule. */
export const LIMITS = {
  /** Events kept per aggregation key (older ones are dropped first). */
  windowEvents: 10_000,
  /** Keys per rule (aggregation, first-seen and suppression maps). */
  keys: 200_000,
  /** Values remembered per first-seen key. */
  valuesPerKey: 2_000,
  /** audit IDs listed in one alert. */
  alertIds: 100,
};

interface AggEntry {
  t: number;
  id: string;
  v?: string;
}

interface AggKey {
  entries: AggEntry[];
  /** Baseline: highest count in a closed bucket, the current bucket's index and count. */
  peak: number;
  bucket: number;
  bucketCount: number;
}

interface RuleState {
  version: string;
  /** Time of the first event the rule saw (µs), for learning periods. */
  start?: number;
  agg: Map<string, AggKey>;
  seen: Map<string, Set<string>>;
  /** Suppression: key → time (µs) until which alerts with that key are suppressed. */
  until: Map<string, number>;
  /** Silence rules: key → time (µs) of the newest matching event. */
  last: Map<string, number>;
  suppressed: number;
}

/** The engine's state as JSON-safe data. */
export interface EngineSnapshot {
  rules: Record<
    string,
    {
      version: string;
      start?: number;
      agg?: Record<string, { entries: AggEntry[]; peak: number; bucket: number; bucketCount: number }>;
      seen?: Record<string, string[]>;
      until?: Record<string, number>;
      last?: Record<string, number>;
    }
  >;
  lastTime?: number;
}

function newState(version: string): RuleState {
  return { version, agg: new Map(), seen: new Map(), until: new Map(), last: new Map(), suppressed: 0 };
}

function capMap<K, V>(m: Map<K, V>, max: number): void {
  if (m.size <= max) return;
  const drop = m.size - max;
  let i = 0;
  for (const k of m.keys()) {
    if (i++ >= drop) break;
    m.delete(k);
  }
}

export function alertId(rule: string, key: string, auditIDs: readonly string[], time: string): string {
  return createHash('sha256')
    .update(`${rule}\u0000${key}\u0000${time}\u0000${auditIDs.join(',')}`)
    .digest('hex')
    .slice(0, 32);
}

export interface EngineStats {
  events: number;
  alerts: number;
  /** Alerts held back by suppression, per rule. */
  suppressed: Record<string, number>;
}

export class DetectionEngine {
  readonly rules: readonly CompiledRule[];
  private readonly state = new Map<string, RuleState>();
  /** State per rule, in rule order (the map's values, for the hot loop). */
  private states: RuleState[] = [];
  /** Rules that may match an event of a given resource, verb and stage (indexes into `rules`), built as met. */
  private readonly byShape = new Map<string, number[]>();
  private events = 0;
  private alerts = 0;
  private lastTime = 0;
  private sweepAt = 0;

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules.filter((r) => r.def.enabled);
    for (const r of this.rules) this.state.set(r.def.id, newState(r.version));
    this.states = this.rules.map((r) => this.state.get(r.def.id)!);
  }

  private candidates(resource: string, verb: string, stage: string): number[] {
    const key = `${resource}\u0000${verb}\u0000${stage}`;
    let list = this.byShape.get(key);
    if (!list) {
      list = this.rules.flatMap((r, i) => {
        const n = r.needs;
        const ok =
          (!n.resource || n.resource.has(resource)) &&
          (!n.verb || n.verb.has(verb)) &&
          (!n.stage || n.stage.has(stage));
        return ok ? [i] : [];
      });
      // Attacker-chosen verbs and resources could grow the cache: it is bounded.
      if (this.byShape.size < 5000) this.byShape.set(key, list);
    }
    return list;
  }

  get stats(): EngineStats {
    const suppressed: Record<string, number> = {};
    for (const [id, s] of this.state) if (s.suppressed > 0) suppressed[id] = s.suppressed;
    return { events: this.events, alerts: this.alerts, suppressed };
  }

  /** Evaluates one event; returns the alerts it raises (in rule order). */
  process(r: EventRecord): Alert[] {
    this.events++;
    const t = timeToMicros(eventTime(r.event)) ?? this.lastTime;
    if (t > this.lastTime) this.lastTime = t;
    let out: Alert[] | undefined;
    const e = r.event;
    for (const i of this.candidates(e.objectRef?.resource ?? '', e.verb ?? '', e.stage ?? '')) {
      const rule = this.rules[i]!;
      const st = this.states[i]!;
      if (st.start === undefined) st.start = t;
      if (!rule.predicate(r)) continue;
      let excepted = false;
      for (const q of rule.requires) {
        if (!q(r)) {
          excepted = true;
          break;
        }
      }
      for (const e of rule.exceptions) {
        if (e.test(r)) {
          excepted = true;
          break;
        }
      }
      if (excepted) continue;
      const a = this.evaluate(rule, st, r, t);
      if (a) (out ??= []).push(a);
    }
    if (this.lastTime - this.sweepAt > 60_000_000) this.sweep();
    if (out) this.alerts += out.length;
    return out ?? [];
  }

  /** Evaluates a batch in order; returns every alert raised. */
  processBatch(batch: readonly EventRecord[]): Alert[] {
    const out: Alert[] = [];
    for (const r of batch) {
      const a = this.process(r);
      if (a.length > 0) out.push(...a);
    }
    return out;
  }

  private evaluate(rule: CompiledRule, st: RuleState, r: EventRecord, t: number): Alert | undefined {
    const id = r.event.auditID;
    if (rule.kind === 'match') return this.raise(rule, st, r, t, [id], 1, {});
    if (rule.kind === 'aggregate') {
      const a = rule.aggregate!;
      const key = rule.keys.group(r);
      let k = st.agg.get(key);
      if (!k) {
        k = { entries: [], peak: 0, bucket: Math.floor(t / a.windowUs), bucketCount: 0 };
        st.agg.set(key, k);
      }
      const entry: AggEntry = { t, id };
      if (a.fn === 'distinct') entry.v = rule.keys.distinct(r);
      k.entries.push(entry);
      const from = t - a.windowUs;
      let drop = 0;
      while (drop < k.entries.length && k.entries[drop]!.t < from) drop++;
      if (k.entries.length - drop > LIMITS.windowEvents) drop = k.entries.length - LIMITS.windowEvents;
      if (drop > 0) k.entries.splice(0, drop);
      if (a.baseline) {
        const bucket = Math.floor(t / a.windowUs);
        if (bucket !== k.bucket) {
          k.peak = Math.max(k.peak, k.bucketCount);
          k.bucket = bucket;
          k.bucketCount = 0;
        }
        k.bucketCount++;
      }
      const count =
        a.fn === 'count'
          ? k.entries.length
          : new Set(k.entries.map((e) => e.v).filter((v) => v!.replace(/\|/g, '') !== '')).size;
      if (count < a.threshold) return undefined;
      if (a.baseline) {
        const learning = st.start !== undefined && t < st.start + a.baseline.learnUs;
        if (learning || count <= a.baseline.factor * k.peak) return undefined;
      }
      const ids = [...new Set(k.entries.map((e) => e.id))];
      k.entries = [];
      return this.raise(rule, st, r, t, ids, count, {
        count,
        threshold: a.threshold,
        window: formatDuration(a.windowUs / 1000),
        key,
      });
    }
    if (rule.kind === 'silence') {
      // The stream came back after a pause longer than normal: the time between is a gap in the trail.
      const key = rule.keys.silence(r);
      const prev = st.last.get(key);
      if (prev !== undefined && t <= prev) return undefined; // late or repeated: the gap is not known yet
      st.last.set(key, t);
      capMap(st.last, LIMITS.keys);
      if (prev === undefined || t - prev < rule.silence!.afterUs) return undefined;
      return this.raise(rule, st, r, t, [id], 1, {
        silence: formatDuration((t - prev) / 1000),
        since: microsToTime(prev),
        key,
      });
    }
    const f = rule.firstSeen!;
    const key = rule.keys.firstKey(r);
    const value = rule.keys.firstValue(r);
    if (value.replace(/\|/g, '') === '') return undefined;
    let seen = st.seen.get(key);
    const newKey = seen === undefined;
    if (!seen) {
      seen = new Set();
      st.seen.set(key, seen);
    }
    if (seen.has(value)) return undefined;
    seen.add(value);
    if (seen.size > LIMITS.valuesPerKey) seen.delete(seen.values().next().value!);
    capMap(st.seen, LIMITS.keys);
    const learning = st.start !== undefined && t < st.start + f.learnUs;
    if (learning || (newKey && !f.newKeys)) return undefined;
    return this.raise(rule, st, r, t, [id], 1, { key, value });
  }

  private raise(
    rule: CompiledRule,
    st: RuleState,
    r: EventRecord,
    t: number,
    ids: string[],
    count: number,
    special: Record<string, string | number>,
  ): Alert | undefined {
    const skey = rule.keys.suppress(r);
    const until = st.until.get(skey);
    if (until !== undefined && t < until) {
      st.suppressed++;
      return undefined;
    }
    st.until.set(skey, t + rule.suppress.windowUs);
    capMap(st.until, LIMITS.keys);
    const time = microsToTime(t);
    const auditIDs = ids.slice(-LIMITS.alertIds);
    const key = (special.key as string | undefined) ?? skey;
    return {
      id: alertId(rule.def.id, key, auditIDs, time),
      rule: rule.def.id,
      title: rule.def.title,
      severity: rule.def.severity,
      time,
      cluster: r.cluster,
      auditIDs,
      message: renderTemplate(rule.def.output, r, special),
      references: rule.references,
      key,
      count,
    };
  }

  /** Drops windows and suppressions that have expired. */
  private sweep(): void {
    this.sweepAt = this.lastTime;
    for (const rule of this.rules) {
      const st = this.state.get(rule.def.id)!;
      for (const [k, until] of st.until) if (until <= this.lastTime) st.until.delete(k);
      if (rule.aggregate) {
        const from = this.lastTime - rule.aggregate.windowUs;
        for (const [k, a] of st.agg) {
          const last = a.entries[a.entries.length - 1];
          if ((!last || last.t < from) && !rule.aggregate.baseline) st.agg.delete(k);
          else if (last && last.t < from) a.entries = [];
        }
        capMap(st.agg, LIMITS.keys);
      }
    }
  }

  snapshot(): EngineSnapshot {
    const rules: EngineSnapshot['rules'] = {};
    for (const rule of this.rules) {
      const st = this.state.get(rule.def.id)!;
      const s: EngineSnapshot['rules'][string] = { version: st.version };
      if (st.start !== undefined) s.start = st.start;
      if (st.agg.size > 0) s.agg = Object.fromEntries(st.agg);
      if (st.seen.size > 0) s.seen = Object.fromEntries([...st.seen].map(([k, v]) => [k, [...v]]));
      if (st.until.size > 0) s.until = Object.fromEntries(st.until);
      if (st.last.size > 0) s.last = Object.fromEntries(st.last);
      rules[rule.def.id] = s;
    }
    return { rules, lastTime: this.lastTime };
  }

  /** Restores saved state; state of rules whose definition changed is dropped. */
  restore(snap: EngineSnapshot): void {
    if (snap.lastTime && snap.lastTime > this.lastTime) this.lastTime = snap.lastTime;
    this.sweepAt = this.lastTime;
    for (const rule of this.rules) {
      const s = snap.rules[rule.def.id];
      if (!s || s.version !== rule.version) continue;
      const st = newState(rule.version);
      if (s.start !== undefined) st.start = s.start;
      for (const [k, v] of Object.entries(s.agg ?? {})) st.agg.set(k, { ...v, entries: [...v.entries] });
      for (const [k, v] of Object.entries(s.seen ?? {})) st.seen.set(k, new Set(v));
      for (const [k, v] of Object.entries(s.until ?? {})) st.until.set(k, v);
      for (const [k, v] of Object.entries(s.last ?? {})) st.last.set(k, v);
      this.state.set(rule.def.id, st);
    }
    this.states = this.rules.map((r) => this.state.get(r.def.id)!);
  }
}
