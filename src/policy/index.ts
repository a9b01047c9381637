// Audit policy toolkit: loading and validation, kube-apiserver's evaluation, lint, applying a policy to
// logged events, simulation, recommendation, presets and the set-up generators.
export type { Decision, GroupResources, Policy, PolicyRule, Problem, RequestAttributes } from './types.js';
export {
  parsePolicy,
  readPolicyFile,
  loadPolicyFile,
  assertValid,
  formatProblem,
  type LoadedPolicy,
} from './load.js';
export {
  evaluate,
  ruleMatches,
  attributesFromEvent,
  unionStages,
  invertStages,
  PolicyEvaluator,
  DEFAULT_LEVEL,
} from './evaluate.js';
export { lintPolicy, type LintOptions } from './lint.js';
export { ruleCovers, isCatchAll } from './coverage.js';
export { applyDecision, policyTransform, type Applied, type Outcome, type PolicyTransform } from './apply.js';
export {
  simulate,
  ruleSummary,
  eventBytes,
  type SimulationReport,
  type RuleStats,
  type NeedResult,
} from './simulate.js';
export { BUILTIN_NEEDS, compileNeeds, type DetectionNeed, type CompiledNeed } from './needs.js';
export {
  recommend,
  profileEvents,
  recommendDocument,
  type Recommendation,
  type Profile,
} from './recommend.js';
export { presetYaml, presetDocument, PRESET_NAMES, type PresetName } from './presets.js';
export { renderPolicy, policyOf, type PolicyDocument, type CommentedRule } from './render.js';
