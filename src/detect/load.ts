// Reading rule files: YAML parsed with positions, checked against a strict schema (rule-schema.ts),
// merged in order (built-in pack first, then the user's files) so that users can extend or replace named
// lists and macros, switch rules off, change their severity or add exceptions. Every problem is reported
// with its file, line and path.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq } from 'yaml';
import type { z } from 'zod';
import { KubetrailError } from '../core/errors.js';
import { parseLocated, pathText, placeOf } from '../core/located-yaml.js';
import { fileSchema, type RuleEntry } from './rule-schema.js';
import type { ExampleCase, ExceptionDef, Origin, RuleDef } from './types.js';

export interface Problem {
  file: string;
  line?: number;
  path?: string;
  message: string;
}

export interface RuleSet {
  rules: RuleDef[];
  lists: Map<string, { items: string[]; origin: Origin }>;
  macros: Map<string, { condition: string; origin: Origin }>;
  files: string[];
}

interface ParsedFile {
  file: string;
  data: z.infer<typeof fileSchema>;
  line: (p: readonly (string | number)[]) => number | undefined;
}

/** Parses and validates one rule file; problems are appended, undefined when unusable. */
export function parseRuleFile(file: string, text: string, problems: Problem[]): ParsedFile | undefined {
  const y = parseLocated(text, { uniqueKeys: true });
  const { doc } = y;
  if (y.errors.length > 0) {
    for (const e of y.errors) problems.push({ file, line: e.line, message: `YAML: ${e.message}` });
    return undefined;
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    problems.push({ file, line: 1, message: 'a rule file is a mapping with lists, macros and rules' });
    return undefined;
  }
  const raw = doc.toJS() ?? {};
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const p = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
      problems.push({ file, line: placeOf(y, p)?.line, path: pathText(p), message: issue.message });
    }
    return undefined;
  }
  // Sequences in `rules` must be a list of mappings: zod checked it; keep the YAML for line lookups.
  if (doc.has('rules') && !isSeq(doc.get('rules'))) return undefined;
  return { file, data: r.data, line: (p) => placeOf(y, p)?.line };
}

function toCase(raw: unknown, expect: 'fire' | 'quiet', index: number, line?: number): ExampleCase {
  const c = raw as Record<string, unknown>;
  const named = typeof c.name === 'string' ? c.name : `${expect} #${index + 1}`;
  const overrides = {
    ...(c.lists ? { lists: c.lists as Record<string, string[]> } : {}),
    ...(c.ipLists ? { ipLists: c.ipLists as Record<string, string[]> } : {}),
    ...(c.macros ? { macros: c.macros as Record<string, string> } : {}),
  };
  if (Array.isArray(c.events)) {
    return { name: named, expect, steps: c.events as ExampleCase['steps'], ...overrides, line };
  }
  const wrapperKeys = new Set(['name', 'event', 'lists', 'ipLists', 'macros']);
  if (c.event && typeof c.event === 'object' && Object.keys(c).every((k) => wrapperKeys.has(k))) {
    return {
      name: named,
      expect,
      steps: [{ event: c.event as Record<string, unknown> }],
      ...overrides,
      line,
    };
  }
  return { name: `${expect} #${index + 1}`, expect, steps: [{ event: c }], line };
}

function toRule(e: RuleEntry, pf: ParsedFile, i: number, problems: Problem[]): RuleDef | undefined {
  const where = (p: (string | number)[]) => ({ file: pf.file, line: pf.line(['rules', i, ...p]) });
  const missing = (['title', 'severity', 'condition', 'output'] as const).filter((k) => e[k] === undefined);
  if (missing.length > 0) {
    problems.push({
      ...where([]),
      path: `rules[${i}]`,
      message: `rule ${e.id} lacks ${missing.join(', ')} (a rule without a condition must override an existing id)`,
    });
    return undefined;
  }
  if ([e.aggregate, e.firstSeen, e.silence].filter(Boolean).length > 1) {
    problems.push({
      ...where([e.silence ? 'silence' : 'firstSeen']),
      path: `rules[${i}]`,
      message: 'one of aggregate, firstSeen and silence, not several',
    });
    return undefined;
  }
  const examples: ExampleCase[] = [];
  for (const expect of ['fire', 'quiet'] as const) {
    (e.examples?.[expect] ?? []).forEach((c, j) =>
      examples.push(toCase(c, expect, j, pf.line(['rules', i, 'examples', expect, j]))),
    );
  }
  return {
    id: e.id,
    title: e.title!,
    description: (e.description ?? '').trim(),
    severity: e.severity!,
    mitre: e.mitre ?? [],
    covers: e.covers ?? [],
    tags: e.tags ?? [],
    enabled: e.enabled ?? true,
    condition: e.condition!.trim(),
    exceptions: (e.exceptions ?? []) as ExceptionDef[],
    search: e.search ?? [],
    ...(e.ipList !== undefined
      ? {
          ipList:
            typeof e.ipList === 'string'
              ? { name: e.ipList, outside: false }
              : { name: e.ipList.name, outside: e.ipList.outside ?? false },
        }
      : {}),
    output: e.output!.trim(),
    ...(e.aggregate ? { aggregate: e.aggregate } : {}),
    ...(e.firstSeen ? { firstSeen: e.firstSeen } : {}),
    ...(e.silence ? { silence: e.silence } : {}),
    ...(e.suppress ? { suppress: e.suppress } : {}),
    examples,
    origin: { file: pf.file, line: pf.line(['rules', i]) },
  };
}

/** Merges parsed files in order into a rule set. */
export function mergeRuleFiles(files: ParsedFile[], problems: Problem[]): RuleSet {
  const set: RuleSet = { rules: [], lists: new Map(), macros: new Map(), files: files.map((f) => f.file) };
  const byId = new Map<string, number>();
  for (const pf of files) {
    for (const [name, def] of Object.entries(pf.data.lists ?? {})) {
      const items = Array.isArray(def) ? def : def.items;
      const append = !Array.isArray(def) && def.append === true;
      const origin = { file: pf.file, line: pf.line(['lists', name]) };
      const prev = set.lists.get(name);
      if (append && !prev) {
        problems.push({ ...origin, path: `lists.${name}`, message: `append to unknown list ${name}` });
        continue;
      }
      set.lists.set(name, { items: append && prev ? [...prev.items, ...items] : [...items], origin });
    }
    for (const [name, condition] of Object.entries(pf.data.macros ?? {})) {
      set.macros.set(name, {
        condition: condition.trim(),
        origin: { file: pf.file, line: pf.line(['macros', name]) },
      });
    }
    (pf.data.rules ?? []).forEach((entry, i) => {
      const at = byId.get(entry.id);
      if (at !== undefined && entry.condition === undefined) {
        // An override of an existing rule: only these keys may change.
        const allowed = new Set(['id', 'enabled', 'severity', 'exceptions', 'suppress']);
        const extra = Object.keys(entry).filter((k) => !allowed.has(k));
        if (extra.length > 0) {
          problems.push({
            file: pf.file,
            line: pf.line(['rules', i]),
            path: `rules[${i}]`,
            message: `an override of ${entry.id} may set enabled, severity, exceptions and suppress, not ${extra.join(', ')}`,
          });
          return;
        }
        const r = set.rules[at]!;
        set.rules[at] = {
          ...r,
          ...(entry.enabled !== undefined ? { enabled: entry.enabled } : {}),
          ...(entry.severity !== undefined ? { severity: entry.severity } : {}),
          ...(entry.suppress !== undefined ? { suppress: entry.suppress } : {}),
          exceptions: [...r.exceptions, ...((entry.exceptions ?? []) as ExceptionDef[])],
        };
        return;
      }
      const def = toRule(entry, pf, i, problems);
      if (!def) return;
      if (at !== undefined) {
        const prev = set.rules[at]!;
        if (prev.origin.file === pf.file || files.indexOf(pf) === 0) {
          problems.push({
            file: pf.file,
            line: def.origin.line,
            path: `rules[${i}].id`,
            message: `duplicate rule id ${entry.id} (also at ${prev.origin.file}:${prev.origin.line ?? '?'})`,
          });
          return;
        }
        set.rules[at] = def;
        return;
      }
      byId.set(entry.id, set.rules.length);
      set.rules.push(def);
    });
  }
  return set;
}

/** The directory of the built-in rule pack (rules/ at the package root). */
export function builtinRulesDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'rules');
    try {
      if (statSync(candidate).isDirectory() && statSync(path.join(dir, 'package.json')).isFile())
        return candidate;
    } catch {
      // not here; look one level up
    }
    dir = path.dirname(dir);
  }
  throw new KubetrailError(
    'KT_INTERNAL',
    'the built-in rules directory (rules/) is missing from the installation',
  );
}

/** The built-in rule files, in name order (sub-directories such as examples/ are not part of the pack). */
export function builtinRuleFiles(): string[] {
  const dir = builtinRulesDir();
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Rule files named by the user: files, or directories of .yaml/.yml files. */
export function expandRulePaths(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch {
      throw new KubetrailError('KT_INPUT_NOT_FOUND', `no rule file ${p}`, { where: { file: p } });
    }
    if (st.isDirectory()) {
      out.push(
        ...readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => path.join(p, f)),
      );
    } else out.push(p);
  }
  return out;
}

/** Reads and merges rule files; `problems` collects every problem found. */
export function readRuleSet(files: readonly string[], problems: Problem[]): RuleSet {
  const parsed: ParsedFile[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (err) {
      problems.push({ file: f, message: `cannot read: ${(err as Error).message}` });
      continue;
    }
    const pf = parseRuleFile(f, text, problems);
    if (pf) parsed.push(pf);
  }
  return mergeRuleFiles(parsed, problems);
}

/** Turns collected problems into one KT_RULE_INVALID error (the first one placed, all listed). */
export function problemsError(problems: readonly Problem[]): KubetrailError {
  const first = problems[0]!;
  const lines = problems.map(formatProblem);
  return new KubetrailError(
    'KT_RULE_INVALID',
    problems.length === 1 ? first.message : `${problems.length} problems:\n  ${lines.join('\n  ')}`,
    {
      where: {
        file: first.file,
        ...(first.line !== undefined ? { line: first.line } : {}),
        ...(first.path ? { path: first.path } : {}),
      },
    },
  );
}

export function formatProblem(p: Problem): string {
  const place = [p.file, p.line].filter((x) => x !== undefined).join(':');
  return `${place}${p.path ? ` (${p.path})` : ''}: ${p.message}`;
}
