// Loading the rules kubetrail runs: the built-in pack (unless left out) merged with the user's rule files,
// compiled, with every problem reported at once as KT_RULE_INVALID.
import { compileRuleSet } from './compile.js';
import {
  builtinRuleFiles,
  expandRulePaths,
  problemsError,
  readRuleSet,
  type Problem,
  type RuleSet,
} from './load.js';
import type { IpLists } from './ip-list.js';
import type { CompiledRule } from './types.js';

export interface LoadRulesOptions {
  /** User rule files or directories, applied after the built-in pack. */
  files?: readonly string[];
  /** Include the built-in pack (default true). */
  builtin?: boolean;
  /** The configured IP lists rules may name (`ipList:`); rules naming others match nothing. */
  ipLists?: IpLists;
}

export interface LoadedRules {
  set: RuleSet;
  /** Every rule, enabled or not. */
  rules: CompiledRule[];
  problems: Problem[];
}

/** Loads and compiles rules, collecting problems instead of throwing (for lint). */
export function inspectRules(opts: LoadRulesOptions = {}): LoadedRules {
  const problems: Problem[] = [];
  const files = [...(opts.builtin === false ? [] : builtinRuleFiles()), ...expandRulePaths(opts.files ?? [])];
  const set = readRuleSet(files, problems);
  const rules = compileRuleSet(set, problems, opts.ipLists);
  return { set, rules, problems };
}

/** Loads and compiles rules; throws KT_RULE_INVALID listing every problem. */
export function loadRules(opts: LoadRulesOptions = {}): CompiledRule[] {
  const r = inspectRules(opts);
  if (r.problems.length > 0) throw problemsError(r.problems);
  return r.rules;
}
