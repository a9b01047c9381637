// Secret and personal-data redaction and leak scanning: the redactor, its configuration, the pipeline
// transform, the rule catalog and the leak scanner.
export { Redactor, RULES, LAST_APPLIED, type Finding, type RedactOptions } from './redactor.js';
export {
  checkRedactConfigText,
  checkPattern,
  compileRedactConfig,
  formatProblems,
  loadRedactOptions,
  readRedactConfig,
  readRedactConfigText,
  type ConfigProblem,
  type RedactConfig,
} from './config.js';
export { DEFAULT_KEY_ENV } from './key.js';
export { BUILTIN_DETECTORS, BUILTIN_DETECTOR_IDS, type Detector } from './detectors.js';
export { MARKER, isMarker } from './marker.js';
export { SENSITIVE_WORDS, SENSITIVE_EXACT, SAFE_SUFFIXES, NameClassifier } from './names.js';
export { ruleCatalog, ruleTitle, type RuleInfo } from './rules.js';
export {
  redactTransform,
  redactBatches,
  redactQuarantine,
  type RedactStats,
  type RedactTransform,
} from './transform.js';
export {
  LeakScanner,
  type Leak,
  type LeakFix,
  type PolicyAttribution,
  type ScanReport,
  type ScanOptions,
} from './scan.js';
