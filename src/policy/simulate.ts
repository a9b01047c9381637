// Simulates a policy over logged events: for each rule, the events and bytes it matched, kept, downgraded
// (body stripped) and dropped; totals before and after with a per-day estimate; and the requests that
// detection needs which would no longer be logged, or no longer carry the fields detection reads.
// Streams the input: memory grows only with the number of requests the detection filters match.
import type { EventRecord } from '../core/event.js';
import { applyDecision } from './apply.js';
import { PolicyEvaluator } from './evaluate.js';
import type { CompiledNeed } from './needs.js';
import type { Policy, PolicyRule } from './types.js';

export interface Volume {
  events: number;
  bytes: number;
}

export interface RuleStats {
  /** Rule index, or null for requests no rule matched (level None). */
  rule: number | null;
  /** The rule in short: level and conditions. */
  summary: string;
  matched: Volume;
  kept: Volume;
  /** Bytes before the downgrade; `bytesAfter` once bodies or managed fields are stripped. */
  downgraded: Volume & { bytesAfter: number };
  dropped: Volume;
}

export interface LostRequest {
  auditID: string;
  stage: string;
  verb: string;
  user: string;
  uri: string;
  /** The rule that decided it (null: no rule matched). */
  rule: number | null;
  why: string;
}

export interface NeedResult {
  id: string;
  title: string;
  filter: string;
  source: string;
  /** Requests (distinct auditIDs) the filter finds before and after the policy. */
  before: number;
  after: number;
  lost: number;
  examples: LostRequest[];
}

export interface SimulationReport {
  rules: RuleStats[];
  before: Volume;
  after: Volume;
  /** Fractions of events and bytes removed (0..1). */
  reduction: { events: number; bytes: number };
  /** Time covered by the input (stage timestamps), or null when unknown. */
  span: { first: string; last: string; seconds: number } | null;
  /** Volume per day, extrapolated from the span (null when the span is empty). */
  perDay: { before: Volume; after: Volume } | null;
  needs: NeedResult[];
  /** Requests detection needs that the policy loses, over all needs. */
  lost: number;
}

/** Size of an event as the log backend writes it: one JSON line. */
export function eventBytes(e: unknown): number {
  return Buffer.byteLength(JSON.stringify(e)) + 1;
}

const list = (name: string, v: readonly string[] | undefined, max = 4) =>
  v && v.length > 0
    ? `${name}=${v.slice(0, max).join(',')}${v.length > max ? `,+${v.length - max}` : ''}`
    : undefined;

/** One-line description of a rule: `Metadata verbs=get,list resources=secrets,configmaps`. */
export function ruleSummary(rule: PolicyRule): string {
  const resources = rule.resources?.flatMap((g) => {
    const rs = g.resources?.length ? g.resources : ['*'];
    return rs.map((r) => (g.group ? `${g.group}/${r}` : r));
  });
  return [
    rule.level,
    list('users', rule.users),
    list('groups', rule.userGroups),
    list('verbs', rule.verbs),
    list(
      'ns',
      rule.namespaces?.map((n) => (n === '' ? '""' : n)),
    ),
    list('resources', resources),
    list('urls', rule.nonResourceURLs),
    rule.omitStages?.length ? `omit=${rule.omitStages.join(',')}` : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(' ');
}

function emptyStats(rule: number | null, summary: string): RuleStats {
  return {
    rule,
    summary,
    matched: { events: 0, bytes: 0 },
    kept: { events: 0, bytes: 0 },
    downgraded: { events: 0, bytes: 0, bytesAfter: 0 },
    dropped: { events: 0, bytes: 0 },
  };
}

interface NeedState {
  need: CompiledNeed;
  before: Map<string, LostRequest>;
  after: Set<string>;
}

export interface SimulateOptions {
  needs?: readonly CompiledNeed[];
  /** Examples of lost requests kept per need. */
  examples?: number;
}

export async function simulate(
  policy: Policy,
  source: AsyncIterable<EventRecord[]> | Iterable<EventRecord[]>,
  opts: SimulateOptions = {},
): Promise<SimulationReport> {
  const evaluator = new PolicyEvaluator(policy);
  const stats = policy.rules.map((r, i) => emptyStats(i, ruleSummary(r)));
  const unmatched = emptyStats(null, 'no rule matched: None');
  const before: Volume = { events: 0, bytes: 0 };
  const after: Volume = { events: 0, bytes: 0 };
  const needs: NeedState[] = (opts.needs ?? []).map((need) => ({
    need,
    before: new Map(),
    after: new Set(),
  }));
  let first: string | undefined;
  let last: string | undefined;

  for await (const batch of source) {
    for (const r of batch) {
      const e = r.event;
      const size = eventBytes(e);
      before.events++;
      before.bytes += size;
      const t = typeof e.stageTimestamp === 'string' ? e.stageTimestamp : undefined;
      if (t && !Number.isNaN(Date.parse(t))) {
        if (first === undefined || t < first) first = t;
        if (last === undefined || t > last) last = t;
      }
      const decision = evaluator.evaluateEvent(e);
      const s = decision.rule === null ? unmatched : stats[decision.rule]!;
      s.matched.events++;
      s.matched.bytes += size;
      const applied = applyDecision(e, decision);
      let outBytes = 0;
      if (applied.outcome === 'dropped') {
        s.dropped.events++;
        s.dropped.bytes += size;
      } else if (applied.outcome === 'kept') {
        outBytes = size;
        s.kept.events++;
        s.kept.bytes += size;
      } else {
        outBytes = eventBytes(applied.event);
        s.downgraded.events++;
        s.downgraded.bytes += size;
        s.downgraded.bytesAfter += outBytes;
      }
      if (applied.event) {
        after.events++;
        after.bytes += outBytes;
      }
      if (needs.length > 0) {
        const key = `${r.cluster}\u0000${e.auditID}`;
        const out = applied.event ? { ...r, event: applied.event } : undefined;
        for (const n of needs) {
          if (!n.need.match(r)) continue;
          if (out && n.need.match(out)) n.after.add(key);
          if (!n.before.has(key)) {
            n.before.set(key, {
              auditID: e.auditID,
              stage: e.stage,
              verb: e.verb,
              user: e.user?.username ?? '',
              uri: e.requestURI,
              rule: decision.rule,
              why:
                applied.outcome === 'dropped'
                  ? applied.reason === 'stage omitted'
                    ? `stage ${e.stage} omitted`
                    : 'level None'
                  : `logged at ${applied.event?.level ?? decision.level}: the fields the filter reads are stripped`,
            });
          }
        }
      }
    }
  }

  const seconds = first && last ? (Date.parse(last) - Date.parse(first)) / 1000 : 0;
  const perDay =
    seconds > 0
      ? {
          before: { events: (before.events * 86_400) / seconds, bytes: (before.bytes * 86_400) / seconds },
          after: { events: (after.events * 86_400) / seconds, bytes: (after.bytes * 86_400) / seconds },
        }
      : null;
  const examples = opts.examples ?? 5;
  const needResults: NeedResult[] = needs.map((n) => {
    const lostKeys = [...n.before.keys()].filter((k) => !n.after.has(k));
    return {
      id: n.need.id,
      title: n.need.title,
      filter: n.need.filter,
      source: n.need.source,
      before: n.before.size,
      after: n.after.size,
      lost: lostKeys.length,
      examples: lostKeys.slice(0, examples).map((k) => n.before.get(k)!),
    };
  });
  const rules = [...stats, unmatched];
  return {
    rules,
    before,
    after,
    reduction: {
      events: before.events > 0 ? 1 - after.events / before.events : 0,
      bytes: before.bytes > 0 ? 1 - after.bytes / before.bytes : 0,
    },
    span: first && last ? { first, last, seconds } : null,
    perDay,
    needs: needResults,
    lost: needResults.reduce((a, n) => a + n.lost, 0),
  };
}
