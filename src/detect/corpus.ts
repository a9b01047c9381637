// Runs the built-in rules against other tools' own test data: Falco's k8s_audit regression cases (trace
// files and expected per-rule hit counts, with Falco's override files replayed as kubetrail rule files)
// and Panther's Kubernetes rule unit tests (events expected to fire or not). Used by the tests that hold
// kubetrail to them and by the report in docs/rules.md.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { EventRecord } from '../core/event.js';
import { createMemoryQuarantine, normalizeEvent, readEvents } from '../ingest/index.js';
import { DetectionEngine } from './engine.js';
import { builtinRulesDir } from './load.js';
import { loadRules } from './rules.js';
import type { CompiledRule } from './types.js';

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

export interface PantherTestResult {
  test: PantherTest;
  /** Whether the covering rule fired (for aggregations: whether the event counts toward the threshold). */
  fired: boolean;
  ok: boolean;
  note?: string;
}

export interface PantherCoverage {
  rule: string;
  title: string;
  /** kubetrail rules that name this Panther rule. */
  covering: string[];
  /** The covering rule that passes every test, if any. */
  passing?: string;
  tests: PantherTestResult[];
  ok: boolean;
}

/** The kubetrail rule file standing for Panther's enrichment (Tor exit list, cloud address ranges). */
export function pantherOverrideFile(): string {
  return path.join(builtinRulesDir(), 'examples', 'panther', 'enrichment.yaml');
}

export function readPantherTests(file: string, logType = 'Amazon.EKS.Audit'): PantherTest[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as PantherTest)
    .filter((t) => t.log_type === logType);
}

/** Whether a rule fires on one event; aggregations: whether the event passes the rule's condition. */
export function firesOn(rule: CompiledRule, r: EventRecord): boolean {
  if (rule.kind === 'aggregate') {
    if (!rule.predicate(r) || rule.requires.some((q) => !q(r))) return false;
    return !rule.exceptions.some((e) => e.test(r));
  }
  const engine = new DetectionEngine([{ ...rule, def: { ...rule.def, enabled: true } }]);
  return engine.process(r).length > 0;
}

function pantherEvent(log: Record<string, unknown>): EventRecord | undefined {
  const n = normalizeEvent(log, { defaultTime: '2024-01-01T00:00:00Z' });
  return 'event' in n ? { cluster: 'panther', event: n.event } : undefined;
}

export function runPantherSuite(file: string): PantherCoverage[] {
  const rules = loadRules({ files: [pantherOverrideFile()] });
  const tests = readPantherTests(file);
  const byRule = new Map<string, PantherTest[]>();
  for (const t of tests) byRule.set(t.rule, [...(byRule.get(t.rule) ?? []), t]);
  const out: PantherCoverage[] = [];
  for (const [id, ts] of [...byRule].sort(([a], [b]) => a.localeCompare(b))) {
    const covering = rules.filter((r) => r.def.covers.includes(`panther:${id}`));
    let best: { rule: CompiledRule; results: PantherTestResult[]; failures: number } | undefined;
    for (const rule of covering) {
      const results = ts.map((t): PantherTestResult => {
        const r = pantherEvent(t.log);
        if (!r) return { test: t, fired: false, ok: !t.expected, note: 'not an audit event' };
        const fired = firesOn(rule, r);
        return { test: t, fired, ok: fired === t.expected };
      });
      const failures = results.filter((x) => !x.ok).length;
      if (!best || failures < best.failures) best = { rule, results, failures };
    }
    out.push({
      rule: id,
      title: ts[0]!.title,
      covering: covering.map((r) => r.def.id),
      ...(best && best.failures === 0 ? { passing: best.rule.def.id } : {}),
      tests: best?.results ?? ts.map((t) => ({ test: t, fired: false, ok: !t.expected })),
      ok: best !== undefined && best.failures === 0,
    });
  }
  return out;
}

/** Where the shared corpus is, when present (a fresh clone has none). */
export function corpusDir(root: string): string | undefined {
  const dir = path.resolve(root, '../shared/corpus');
  return existsSync(dir) ? dir : undefined;
}
