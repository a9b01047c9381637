// Compiles a merged rule set into rules the engine runs: conditions expanded and compiled to predicates,
// every field a rule names checked against the field catalog, durations parsed, references assembled.
// Problems are collected (with file, line and path) rather than stopping at the first.
import { createHash } from 'node:crypto';
import { parseDuration } from '../core/duration.js';
import {
  ConditionError,
  everyIn,
  expandCondition,
  printCondition,
  ruleField,
  searchUnder,
  type Definitions,
} from './condition.js';
import type { IpLists } from './ip-list.js';
import { compilePlanned, keyFunction, requirements } from './plan.js';
import { templateFields } from './template.js';
import type { Problem, RuleSet } from './load.js';
import type { CompiledException, CompiledRule, RuleDef } from './types.js';

/** Named lists and macros of a rule set, as the condition expander takes them. */
export function definitions(set: RuleSet): Definitions {
  return {
    lists: new Map([...set.lists].map(([k, v]) => [k, v.items])),
    macros: new Map([...set.macros].map(([k, v]) => [k, v.condition])),
  };
}

function durationUs(text: string, what: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0)
    throw new ConditionError(`${what} ${JSON.stringify(text)} is not a duration such as 5m`);
  return Math.round(ms * 1000);
}

/** A rule naming an IP list no one configured: it matches nothing. */
const noList = (): boolean => false;

/**
 * Compiles one rule definition; throws ConditionError. `ipLists` are the configured IP lists (a rule
 * naming another list matches nothing).
 */
export function compileRule(def: RuleDef, defs: Definitions, ipLists?: IpLists): CompiledRule {
  const node = expandCondition(def.condition, defs);
  const predicate = compilePlanned(node);
  const exceptions: CompiledException[] = def.exceptions.map((e) => {
    if (e.condition !== undefined) {
      let p;
      try {
        p = compilePlanned(expandCondition(e.condition, defs));
      } catch (err) {
        throw new ConditionError(`exception ${e.name}: ${(err as Error).message}`, err);
      }
      return { name: e.name, test: p };
    }
    const listName = e.in!.slice(1);
    const items = defs.lists.get(listName);
    if (items === undefined) throw new ConditionError(`exception ${e.name}: unknown list $${listName}`);
    const fields = e.every!.flatMap((f) => {
      if (!f.startsWith('$')) return [f];
      const named = defs.lists.get(f.slice(1));
      if (named === undefined) throw new ConditionError(`exception ${e.name}: unknown list ${f}`);
      return named;
    });
    try {
      return { name: e.name, test: everyIn(fields, items, e.repository ?? false) };
    } catch (err) {
      throw new ConditionError(`exception ${e.name}: ${(err as Error).message}`, err);
    }
  });
  const requires = def.search.map((s) => {
    const items = defs.lists.get(s.for.slice(1));
    if (items === undefined) throw new ConditionError(`search under ${s.under}: unknown list ${s.for}`);
    return searchUnder(s.under, items);
  });
  if (def.ipList !== undefined) {
    const { name, outside } = def.ipList;
    requires.push(ipLists?.has(name) ? ipLists.matcher(name, outside) : noList);
  }
  const used: string[] = [];
  let aggregate: CompiledRule['aggregate'];
  if (def.aggregate) {
    const a = def.aggregate;
    const fields = a.field === undefined ? undefined : Array.isArray(a.field) ? a.field : [a.field];
    used.push(...a.by, ...(fields ?? []));
    aggregate = {
      fn: a.function,
      ...(fields ? { fields } : {}),
      windowUs: durationUs(a.window, 'aggregate.window'),
      by: a.by,
      threshold: a.threshold,
      ...(a.baseline
        ? { baseline: { factor: a.baseline.factor, learnUs: durationUs(a.baseline.learn, 'baseline.learn') } }
        : {}),
    };
  }
  let firstSeen: CompiledRule['firstSeen'];
  if (def.firstSeen) {
    const f = def.firstSeen;
    used.push(...f.key, ...f.value);
    firstSeen = {
      key: f.key,
      value: f.value,
      learnUs: durationUs(f.learn, 'firstSeen.learn'),
      newKeys: f.newKeys ?? false,
    };
  }
  let silence: CompiledRule['silence'];
  if (def.silence) {
    used.push(...def.silence.by);
    silence = { afterUs: durationUs(def.silence.after, 'silence.after'), by: def.silence.by };
  }
  const suppress = def.suppress
    ? { windowUs: durationUs(def.suppress.window, 'suppress.window'), by: def.suppress.by }
    : { windowUs: 3_600_000_000, by: ['auditid'] };
  used.push(...suppress.by);
  for (const f of templateFields(def.output)) used.push(f);
  for (const f of used) ruleField(f);
  const expanded = printCondition(node);
  const version = createHash('sha256')
    .update(
      JSON.stringify([
        expanded,
        def.search,
        def.aggregate ?? null,
        def.firstSeen ?? null,
        def.ipList ?? null,
        ...(def.silence ? [def.silence] : []),
      ]),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    def,
    kind: aggregate ? 'aggregate' : firstSeen ? 'first-seen' : silence ? 'silence' : 'match',
    predicate,
    requires,
    needs: requirements(node),
    keys: {
      suppress: keyFunction(suppress.by),
      group: keyFunction(aggregate?.by ?? []),
      distinct: keyFunction(aggregate?.fields ?? []),
      firstKey: keyFunction(firstSeen?.key ?? []),
      firstValue: keyFunction(firstSeen?.value ?? []),
      silence: keyFunction(silence?.by ?? []),
    },
    exceptions,
    expanded,
    version,
    ...(aggregate ? { aggregate } : {}),
    ...(firstSeen ? { firstSeen } : {}),
    ...(silence ? { silence } : {}),
    suppress,
    references: [...def.mitre, ...def.covers],
  };
}

/** Compiles every rule of a set (enabled or not); problems are appended. */
export function compileRuleSet(set: RuleSet, problems: Problem[], ipLists?: IpLists): CompiledRule[] {
  const defs = definitions(set);
  const out: CompiledRule[] = [];
  for (const def of set.rules) {
    try {
      out.push(compileRule(def, defs, ipLists));
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      problems.push({
        file: def.origin.file,
        ...(def.origin.line !== undefined ? { line: def.origin.line } : {}),
        path: def.id,
        message: err.message,
      });
    }
  }
  // Lists and macros are checked even when no rule uses them.
  for (const [name, m] of set.macros) {
    try {
      expandCondition(m.condition, defs);
    } catch (err) {
      if (!(err instanceof ConditionError)) throw err;
      if (!problems.some((p) => p.message.includes(`$${name}`)))
        problems.push({
          file: m.origin.file,
          line: m.origin.line,
          path: `macros.${name}`,
          message: err.message,
        });
    }
  }
  return out;
}
