// Runs the built-in rules against other tools' own test data: Falco's k8s_audit regression cases (trace
// files and expected per-rule hit counts, with Falco's override files replayed as kubetrail rule files)
// and Panther's Kubernetes rule unit tests (events expected to fire or not, each run alone through the
// pack as shipped, Panther's enrichment given as IP lists), with the deliberate differences from Panther
// listed and their reasons. Used by the tests that hold kubetrail to them and by the report in
// docs/rules.md.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventRecord } from '../core/event.js';
import { createMemoryQuarantine, normalizeEvent, readEvents } from '../ingest/index.js';
import { DetectionEngine } from './engine.js';
import { builtinRulesDir } from './load.js';
import { loadRules } from './rules.js';
import { IpLists } from './ip-list.js';
import { severityRank, type CompiledRule } from './types.js';

// ---------------------------------------------------------------- Falco

export interface FalcoCase {
  test: string;
  trace: string;
  detect: boolean;
  level: string | null;
  counts: Record<string, number>;
  extra_rule_files: string[];
  engine_v4_compat: boolean;
}

/** Rule names used by the older tests, split since into one rule per object kind. */
export const FALCO_ALIASES: Record<string, string[]> = {
  'K8s Role/Clusterrole Created': ['K8s Role Created', 'K8s ClusterRole Created'],
  'K8s Role/Clusterrole Deleted': ['K8s Role Deleted', 'K8s ClusterRole Deleted'],
  'K8s Role/Clusterrolebinding Created': ['K8s RoleBinding Created', 'K8s ClusterRoleBinding Created'],
  'K8s Role/Clusterrolebinding Deleted': ['K8s RoleBinding Deleted', 'K8s ClusterRoleBinding Deleted'],
};

export interface FalcoResult {
  case: FalcoCase;
  /** Alerts per Falco rule name (through the falco: references of the rules that raised them). */
  got: Record<string, number>;
  /** kubetrail rules that raised alerts, with counts. */
  raised: Record<string, number>;
  ok: boolean;
  problem?: string;
}

/** The kubetrail rule files standing for Falco's override files. */
export function falcoOverrideFile(name: string): string {
  return path.join(builtinRulesDir(), 'examples', 'falco', name);
}

async function readAll(file: string): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for await (const batch of readEvents([file], { quarantine: createMemoryQuarantine() })) out.push(...batch);
  return out;
}

function falcoNames(rule: CompiledRule): string[] {
  return rule.def.covers.filter((c) => c.startsWith('falco:')).map((c) => c.slice(6));
}

/** Runs one Falco case. */
export async function runFalcoCase(
  dir: string,
  c: FalcoCase,
  cache = new Map<string, CompiledRule[]>(),
): Promise<FalcoResult> {
  const key = c.extra_rule_files.join(',');
  let rules = cache.get(key);
  if (!rules) {
    rules = loadRules({ files: c.extra_rule_files.map(falcoOverrideFile) });
    cache.set(key, rules);
  }
  const byId = new Map(rules.map((r) => [r.def.id, r]));
  const engine = new DetectionEngine(rules);
  const alerts = engine.processBatch(await readAll(path.join(dir, c.trace)));
  const got: Record<string, number> = {};
  const raised: Record<string, number> = {};
  for (const a of alerts) {
    raised[a.rule] = (raised[a.rule] ?? 0) + 1;
    for (const n of falcoNames(byId.get(a.rule)!)) got[n] = (got[n] ?? 0) + 1;
  }
  const problems: string[] = [];
  if (c.detect) {
    for (const [name, want] of Object.entries(c.counts)) {
      const names = FALCO_ALIASES[name] ?? [name];
      const have = names.reduce((s, n) => s + (got[n] ?? 0), 0);
      if (have !== want) problems.push(`${name}: expected ${want}, got ${have}`);
    }
  } else {
    const any = Object.entries(got).filter(([, v]) => v > 0);
    if (any.length > 0)
      problems.push(`expected no Falco detection, got ${any.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  }
  return {
    case: c,
    got,
    raised,
    ok: problems.length === 0,
    ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
  };
}

export function readFalcoCases(dir: string): FalcoCase[] {
  return readFileSync(path.join(dir, 'expectations.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as FalcoCase);
}

export async function runFalcoSuite(dir: string): Promise<FalcoResult[]> {
  const cache = new Map<string, CompiledRule[]>();
  const out: FalcoResult[] = [];
  for (const c of readFalcoCases(dir)) out.push(await runFalcoCase(dir, c, cache));
  return out;
}

// ---------------------------------------------------------------- Panther

export interface PantherTest {
  rule: string;
  title: string;
  severity: string;
  enabled_by_default: boolean;
  test: string;
  expected: boolean;
  log_type: string;
  log: Record<string, unknown>;
}

/**
 * What one covering rule does with one test event on its own: raises an alert that the default outputs
 * show (low or above), raises an informational alert (stored, not shown or sent by default), counts it
 * toward a threshold without alerting, or ignores it.
 */
export type PantherOutcome = 'alert' | 'info' | 'counts' | 'quiet';

export interface PantherTestResult {
  test: PantherTest;
  /** The strongest outcome of the covering rules; undefined when the record is not an audit event. */
  outcome?: PantherOutcome;
  /** Whether a covering rule raised an alert shown by default. */
  fired: boolean;
  /** Matches Panther's expectation, or differs exactly as a listed difference says. */
  ok: boolean;
  /** The listed difference that applies, when there is one. */
  difference?: PantherDifference;
  note?: string;
}

export interface PantherCoverage {
  rule: string;
  title: string;
  /** kubetrail rules that name this Panther rule (they cover it together). */
  covering: string[];
  tests: PantherTestResult[];
  ok: boolean;
}

/**
 * Where kubetrail deliberately differs from a Panther rule test, and why. A listed test must still come
 * out exactly as listed (`outcome`, and `alsoRaisedBy` raising an alert on the same event): when the
 * difference goes away or changes, the corpus test fails and the entry must be removed or corrected.
 */
export interface PantherDifference {
  rule: string;
  test: string;
  outcome: PantherOutcome;
  /** Another rule that alerts on this event on its own (the single event is not left unseen). */
  alsoRaisedBy?: string;
  reason: string;
}

const THRESHOLD_403 = `a threshold rule in Panther too (10 refusals in 30 minutes per public address; Panther's unit test calls only its per-event filter): the event counts toward the threshold, a single 403 is not an incident`;
const THRESHOLD_DENIED = `a threshold rule in Panther too (20 refused reads in 15 minutes per identity): the event counts toward the threshold, and the single refused read raises secret-get-failed (Falco's rule) on its own`;
const THRESHOLD_BULK = `a threshold rule in Panther too (15 different secrets in 30 minutes per identity): the event counts toward the threshold; one secret read is what applications do all day`;

export const PANTHER_DIFFERENCES: readonly PantherDifference[] = [
  {
    rule: 'Amazon.EKS.AnonymousAPIAccess',
    test: 'Anonymous API Access Web Scanner Allowed',
    outcome: 'quiet',
    reason:
      "an anonymous GET of /version, which system:public-info-viewer grants every client and every scanner of a public endpoint reads: noise, not an alert (Panther's newer Kubernetes.API.AnonymousAccess lowers it to INFO); anonymous requests for anything else raise anonymous-access",
  },
  {
    rule: 'Amazon.EKS.AnonymousAPIAccess',
    test: 'ELB Health Check from Public IP',
    outcome: 'quiet',
    reason:
      "a load balancer's health probe of /healthz: Panther's older EKS-only rule alerts when it comes from a public address, its newer Kubernetes.API.AnonymousAccess leaves health endpoints out, as anonymous-access does",
  },
  ...['EKS 403 from Public IP', 'AKS 403 from Public IP'].map((test): PantherDifference => ({
    rule: 'Kubernetes.API.Multiple403.PublicIP',
    test,
    outcome: 'counts',
    reason: THRESHOLD_403,
  })),
  {
    rule: 'Amazon.EKS.Audit.Multiple403',
    test: '403 and Public IP',
    outcome: 'counts',
    reason: THRESHOLD_403,
  },
  ...[
    'EKS failed secret get (403 Forbidden)',
    'EKS failed secret get (404 Not Found)',
    'AKS failed secret get (401 Unauthorized)',
    'Service account failed to get secret',
  ].map((test): PantherDifference => ({
    rule: 'Kubernetes.Secret.AccessDenied',
    test,
    outcome: 'counts',
    alsoRaisedBy: 'secret-get-failed',
    reason: THRESHOLD_DENIED,
  })),
  ...[
    'User Gets a Secret',
    'User Lists Secrets',
    'User Watches Secrets',
    'User Gets Secret - Access Denied',
  ].map((test): PantherDifference => ({
    rule: 'Kubernetes.BulkSecretAccess',
    test,
    outcome: 'counts',
    reason: THRESHOLD_BULK,
  })),
];

/**
 * The log types whose records are audit events kubetrail imports: EKS (a plain audit event) and AKS
 * diagnostics (the event as JSON in properties.log). GKE's Cloud Audit Logs entries are not run here.
 */
export const PANTHER_LOG_TYPES: readonly string[] = ['Amazon.EKS.Audit', 'Azure.MonitorActivity'];

export function readPantherTests(file: string, logTypes = PANTHER_LOG_TYPES): PantherTest[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as PantherTest)
    .filter((t) => logTypes.includes(t.log_type));
}

/** Autonomous systems of the cloud providers whose addresses Panther's rules treat as theirs. */
const CLOUD_ASNS = new Set(['AS16509', 'AS8075', 'AS15169', 'AS396982']);

/**
 * Panther's enrichment of its test events, as the IP lists a user would configure: `tor-exit-nodes`
 * holds every address its Tor enrichment (p_enrichment.tor_exit_nodes) names, `node-networks` every
 * range (or, without one, address) its IPinfo data attributes to a cloud provider's network.
 */
export function pantherIpLists(tests: readonly PantherTest[]): IpLists {
  const tor = new Set<string>();
  const cloud = new Set<string>();
  for (const t of tests) {
    const e = t.log.p_enrichment as Record<string, unknown> | undefined;
    for (const ip of (e?.tor_exit_nodes as unknown[] | undefined) ?? [])
      if (typeof ip === 'string') tor.add(ip);
    const asn = (e?.ipinfo_asn as { sourceIPs?: Record<string, unknown>[] } | undefined)?.sourceIPs ?? [];
    for (const a of asn) {
      if (!CLOUD_ASNS.has(String(a.asn))) continue;
      const where = typeof a.route === 'string' ? a.route : a.p_match;
      if (typeof where === 'string') cloud.add(where);
    }
  }
  const ipLists = new IpLists();
  ipLists.addEntries('tor-exit-nodes', [...tor]);
  ipLists.addEntries('node-networks', [...cloud]);
  return ipLists;
}

/** Alerts one rule raises on one event on its own (a fresh engine, the rule switched on). */
function alertsOf(rule: CompiledRule, r: EventRecord) {
  return new DetectionEngine([{ ...rule, def: { ...rule.def, enabled: true } }]).process(r);
}

/** What a rule does with one event on its own (see PantherOutcome). */
export function outcomeOf(rule: CompiledRule, r: EventRecord): PantherOutcome {
  const alerts = alertsOf(rule, r);
  if (alerts.some((a) => severityRank(a.severity) >= severityRank('low'))) return 'alert';
  if (alerts.length > 0) return 'info';
  if (rule.kind === 'aggregate' && rule.predicate(r) && rule.requires.every((q) => q(r))) {
    if (!rule.exceptions.some((e) => e.test(r))) return 'counts';
  }
  return 'quiet';
}

function pantherEvent(log: Record<string, unknown>): EventRecord | undefined {
  const n = normalizeEvent(log, { defaultTime: '2024-01-01T00:00:00Z' });
  return 'event' in n ? { cluster: 'panther', event: n.event } : undefined;
}

export interface PantherSuiteOptions {
  /** Listed differences (default PANTHER_DIFFERENCES). */
  differences?: readonly PantherDifference[];
}

const OUTCOME_RANK: Record<PantherOutcome, number> = { quiet: 0, counts: 1, info: 2, alert: 3 };

/**
 * Runs Panther's tests (of one or more files) against the built-in pack as it ships, with Panther's
 * enrichment given as IP lists (pantherIpLists). A Panther rule is covered by every kubetrail rule that
 * names it, together: a test event's outcome is the strongest of theirs, so one of them alerting on an
 * expected-false event is a false positive.
 */
export function runPantherSuite(
  files: string | readonly string[],
  opts: PantherSuiteOptions = {},
): PantherCoverage[] {
  const differences = opts.differences ?? PANTHER_DIFFERENCES;
  const tests = (typeof files === 'string' ? [files] : files).flatMap((f) => readPantherTests(f));
  const rules = loadRules({ ipLists: pantherIpLists(tests) });
  const byId = new Map(rules.map((r) => [r.def.id, r]));
  const byRule = new Map<string, PantherTest[]>();
  for (const t of tests) byRule.set(t.rule, [...(byRule.get(t.rule) ?? []), t]);
  const out: PantherCoverage[] = [];
  for (const [id, ts] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
    const covering = rules.filter((r) => r.def.covers.includes(`panther:${id}`));
    const results = ts.map((t): PantherTestResult => {
      const r = pantherEvent(t.log);
      if (!r) return { test: t, fired: false, ok: !t.expected, note: 'not an audit event' };
      let outcome: PantherOutcome = 'quiet';
      for (const rule of covering) {
        const o = outcomeOf(rule, r);
        if (OUTCOME_RANK[o] > OUTCOME_RANK[outcome]) outcome = o;
      }
      const fired = outcome === 'alert';
      const difference = differences.find((d) => d.rule === id && d.test === t.test);
      if (!difference) return { test: t, outcome, fired, ok: covering.length > 0 && fired === t.expected };
      const also = difference.alsoRaisedBy === undefined ? undefined : byId.get(difference.alsoRaisedBy);
      const alsoOk =
        difference.alsoRaisedBy === undefined ||
        (also !== undefined && also.def.enabled && outcomeOf(also, r) === 'alert');
      const ok = fired !== t.expected && outcome === difference.outcome && alsoOk;
      let note: string | undefined;
      if (!ok)
        note =
          fired === t.expected
            ? 'listed as a difference but agrees with Panther now: remove it from PANTHER_DIFFERENCES'
            : !alsoOk
              ? `listed as raised by ${difference.alsoRaisedBy}, which does not alert on it by default`
              : `listed as ${difference.outcome}, is ${outcome}`;
      return { test: t, outcome, fired, ok, difference, ...(note ? { note } : {}) };
    });
    out.push({
      rule: id,
      title: ts[0]!.title,
      covering: covering.map((r) => r.def.id),
      tests: results,
      ok: covering.length > 0 && results.every((x) => x.ok),
    });
  }
  return out;
}

/** Listed differences whose Panther test was not run at all (renamed or removed upstream). */
export function unusedDifferences(
  coverage: readonly PantherCoverage[],
  differences: readonly PantherDifference[] = PANTHER_DIFFERENCES,
): PantherDifference[] {
  const seen = new Set(coverage.flatMap((c) => c.tests.map((t) => `${c.rule}\u0000${t.test.test}`)));
  return differences.filter((d) => !seen.has(`${d.rule}\u0000${d.test}`));
}

/** Where the shared corpus is, when present (a fresh clone has none). */
export function corpusDir(root: string): string | undefined {
  const dir = path.resolve(root, '../shared/corpus');
  return existsSync(dir) ? dir : undefined;
}
