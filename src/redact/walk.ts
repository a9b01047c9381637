// The redaction walk's shared vocabulary: the rule ids, the compiled options, what a finding is, the state
// of one walk (mutate or inspect, the current path, the findings so far), the `Walker` interface through
// which the per-kind rules and the text scanner call back into the generic walk, and the small helpers
// every part uses (recording a finding, the allow-list, replacing a value by a marker).
import { ASSIGNMENT_RULE, type Detector } from './detectors.js';
import { isMarker, isPlaceholder, type Marker } from './marker.js';
import type { NameClassifier } from './names.js';
import { formatPath, type PathStep } from './paths.js';
import type { Pseudonymizer } from './pseudonymize.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Rule ids of the structural and name rules (detector ids come from detectors.ts and the config). */
export const RULES = {
  secretData: 'secret-data',
  secretStringData: 'secret-stringdata',
  secretBody: 'secret-body',
  tokenRequest: 'token-request',
  tokenReview: 'token-review',
  csrPrivateKey: 'csr-private-key',
  sensitiveName: 'sensitive-name',
  sensitiveFlag: 'sensitive-flag',
  sensitiveAssignment: ASSIGNMENT_RULE,
  pseudonym: 'pseudonym',
  tooDeep: 'too-deep',
} as const;

/** Compiled redaction settings (see config.ts for the file format and its defaults). */
export interface RedactOptions {
  detectors: readonly Detector[];
  names: NameClassifier;
  /** Candidate secrets matching one of these are kept. */
  allowValues: readonly RegExp[];
  /** Whether `name=value` text assignments and command-line flags are looked at. */
  assignments: boolean;
  flags: boolean;
  marker: Marker;
  pseudonymizer?: Pseudonymizer;
}

/** Where a secret was found, and which rule found it. Never carries the value. */
export interface Finding {
  path: string;
  rule: string;
}

/** Deeper than any real Kubernetes object (CRD schemas included); also bounds the walk's recursion. */
export const MAX_DEPTH = 128;

export type Obj = Record<string, unknown>;

/** One walk over one event or record: whether values are replaced, where it is, what it found. */
export interface Walk {
  mutate: boolean;
  path: PathStep[];
  findings: Finding[];
}

/** The generic walk, as the per-kind rules (kinds.ts) and the text scanner (text.ts) call back into it. */
export interface Walker {
  readonly options: RedactOptions;
  /** Any JSON value: strings through the text rules, arrays and objects walked. Returns the new value. */
  value(v: unknown, w: Walk): unknown;
  /** An object: typed handling by `kind` (unless `skip` is given), then names and values of every key. */
  object(o: Obj, w: Walk, skip?: ReadonlySet<string>): void;
  /** An array's elements, with command-line flags looked at in sequence. */
  array(a: unknown[], w: Walk): void;
  /** Free text: returns it with every secret found in it replaced (unchanged when not mutating). */
  text(s: string, w: Walk): string;
}

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

export function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Records a finding of `rule` at the walk's current path. */
export function found(rule: string, w: Walk): void {
  w.findings.push({ path: formatPath(w.path), rule });
}

/** Whether a candidate secret is kept: a placeholder, or matched by the configured allow-list. */
export function allowed(options: RedactOptions, candidate: string): boolean {
  if (isPlaceholder(candidate)) return true;
  for (const r of options.allowValues) {
    r.lastIndex = 0;
    if (r.test(candidate)) return true;
  }
  return false;
}

/**
 * Replaces container[key] (a secret value whose path is on the walk) by a marker, unless it is a marker,
 * a placeholder or allowed. `always` skips the placeholder and allow-list checks (structural rules).
 */
export function replace(
  options: RedactOptions,
  container: Obj | unknown[],
  key: string | number,
  value: string,
  rule: string,
  w: Walk,
  always = false,
): void {
  if (value === '' || isMarker(value)) return;
  if (!always && allowed(options, value)) return;
  found(rule, w);
  if (w.mutate) (container as Record<string | number, unknown>)[key] = options.marker.of(value);
}
