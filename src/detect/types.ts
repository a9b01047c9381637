// Types shared by the detection modules: rule definitions as loaded from YAML, compiled rules
// ready for the engine, and the alerts the engine raises.
import type { Severity } from '../core/alert.js';
import type { EventRecord } from '../core/event.js';
import type { Predicate } from '../query/index.js';
import type { Requirements } from './plan.js';

// Severities and alerts are defined in src/core/alert.ts (stores keep alerts too); re-exported here
// because every rule has a severity.
export { SEVERITIES, severityRank, type Alert, type Severity } from '../core/alert.js';

/** Where a definition came from, for error messages and `rules show`. */
export interface Origin {
  file: string;
  line?: number;
}

/** An exception: the alert is not raised when it applies. */
export interface ExceptionDef {
  name: string;
  /** A filter; the exception applies when it matches. */
  condition?: string;
  /**
   * Fields whose values must all be in `in` (at least one value present): Falco's `in` over list fields.
   * Used for "every container image is trusted".
   */
  every?: string[];
  in?: string;
  /** Compare container image repositories (tag and digest removed) instead of whole values. */
  repository?: boolean;
}

export interface AggregateDef {
  /** count: matching events; distinct: different values of `field`. */
  function: 'count' | 'distinct';
  /** For distinct: the field, or fields whose combination is counted. */
  field?: string | string[];
  /** Sliding window, as a duration (5m). */
  window: string;
  by: string[];
  /** The alert fires when the count reaches this value. */
  threshold: number;
  /** Off-pattern mode: also require the count to exceed `factor` × the key's previous peak. */
  baseline?: { factor: number; learn: string };
}

/** A rule's reference to an IP list. */
export interface IpListRef {
  name: string;
  /** Match events none of whose source addresses is in the list (default: some address is in it). */
  outside: boolean;
}

/** A search below a JSON path: some key or string value there matches an item of the list. */
export interface SearchDef {
  under: string;
  for: string;
}

export interface FirstSeenDef {
  /** Fields identifying who or what (user). */
  key: string[];
  /** Fields whose combination must not have been seen before for the key (ip, ua). */
  value: string[];
  /** No alerts until this long after the first event the rule saw (7d). */
  learn: string;
  /** Alert on a key never seen before too (default: a new key is learned silently). */
  newKeys?: boolean;
}

/** A stream that should not fall silent: the alert fires when it comes back after a silence. */
export interface SilenceDef {
  /** The longest normal pause between two matching events with the same key, as a duration (3m). */
  after: string;
  /** Fields forming the key (default: the cluster). */
  by: string[];
}

export interface SuppressDef {
  /** Alerts of the rule with the same key are suppressed for this long after one is raised. */
  window: string;
  /** Fields forming the key (default: the request's auditID). */
  by: string[];
}

export interface ExampleStep {
  /** Offset from the start of the example, as a duration (default: one second after the previous step). */
  at?: string;
  /** Emit the event this many times (strings may use {i}, the 0-based repetition index). */
  repeat?: number;
  /** Time between repetitions (default 1s). */
  every?: string;
  event: Record<string, unknown>;
}

export interface ExampleCase {
  name: string;
  expect: 'fire' | 'quiet';
  steps: ExampleStep[];
  /** Lists and macros redefined for this example, as a user's rule file would (to show inert rules firing). */
  lists?: Record<string, string[]>;
  /** IP lists configured for this example (name → addresses and CIDR ranges), as --ip-list would. */
  ipLists?: Record<string, string[]>;
  macros?: Record<string, string>;
  /** Where it is, for messages. */
  line?: number;
}

export interface RuleDef {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  /** MITRE ATT&CK technique ids (T1611, T1552.007). */
  mitre: string[];
  /** Detections of other tools this rule covers: falco:<rule name>, panther:<RuleID>, sigma:…, elastic:…. */
  covers: string[];
  tags: string[];
  enabled: boolean;
  condition: string;
  exceptions: ExceptionDef[];
  /** Searches that must all match too (keys and values below a path, which filters cannot name). */
  search: SearchDef[];
  /**
   * An IP list (configured from a file, src/detect/ip-list.ts) that a source address must be in too, or
   * with `outside`, that no source address may be in; the rule matches nothing while the list is not
   * configured.
   */
  ipList?: IpListRef;
  output: string;
  aggregate?: AggregateDef;
  firstSeen?: FirstSeenDef;
  silence?: SilenceDef;
  suppress?: SuppressDef;
  examples: ExampleCase[];
  origin: Origin;
}

export interface CompiledException {
  name: string;
  test: (r: EventRecord) => boolean;
}

/** A rule ready to run. Durations are in microseconds (event time). */
export interface CompiledRule {
  def: RuleDef;
  kind: 'match' | 'aggregate' | 'first-seen' | 'silence';
  predicate: Predicate;
  /** Further tests that must all pass (searches below JSON paths). */
  requires: Predicate[];
  /** Resources, verbs and stages the condition requires (to skip rules that cannot match). */
  needs: Requirements;
  /** Compiled key functions: suppression, aggregation group and distinct value, first-seen key and value. */
  keys: {
    suppress: (r: EventRecord) => string;
    group: (r: EventRecord) => string;
    distinct: (r: EventRecord) => string;
    firstKey: (r: EventRecord) => string;
    firstValue: (r: EventRecord) => string;
    silence: (r: EventRecord) => string;
  };
  exceptions: CompiledException[];
  /** Canonical text of the expanded condition. */
  expanded: string;
  /** A hash of what decides the rule's state; state saved under another version is dropped. */
  version: string;
  aggregate?: {
    fn: 'count' | 'distinct';
    fields?: string[];
    windowUs: number;
    by: string[];
    threshold: number;
    baseline?: { factor: number; learnUs: number };
  };
  firstSeen?: { key: string[]; value: string[]; learnUs: number; newKeys: boolean };
  silence?: { afterUs: number; by: string[] };
  suppress: { windowUs: number; by: string[] };
  references: string[];
}
