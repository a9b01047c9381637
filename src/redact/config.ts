// Redaction configuration: the file format (YAML or JSON, strict schema), its validation with precise
// positions (bad regular expressions, patterns that match empty or ordinary text, nested quantifiers,
// unknown keys, unknown rule ids) and the compiled options the redactor runs with (the key for keyed
// hashes and pseudonyms is read by key.ts). With no file, the built-in rules apply.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { KubetrailError } from '../core/errors.js';
import { closest, exactPlaceOf, parseLocated, pathText } from '../core/located-yaml.js';
import { ASSIGNMENT_RULE, BUILTIN_DETECTOR_IDS, BUILTIN_DETECTORS, type Detector } from './detectors.js';
import { needsKey, readKey } from './key.js';
import { Marker } from './marker.js';
import { NameClassifier, normalizeName } from './names.js';
import { DEFAULT_KEEP_USERS, Pseudonymizer } from './pseudonymize.js';
import { RULES, type RedactOptions } from './redactor.js';

const idRe = /^[a-z0-9][a-z0-9-]*$/;

const patternSchema = z
  .object({
    id: z.string().regex(idRe, 'ids are lower-case words joined by dashes, as in acme-api-key'),
    regex: z.string().min(1, 'the regular expression is empty'),
    flags: z
      .string()
      .regex(/^[imsu]*$/, 'only the flags i, m, s and u are accepted')
      .optional(),
    group: z.number().int().min(0).optional(),
    description: z.string().optional(),
  })
  .strict();

const configSchema = z
  .object({
    hashValues: z.boolean().optional(),
    key: z
      .object({ env: z.string().min(1).optional(), file: z.string().min(1).optional() })
      .strict()
      .refine((k) => !(k.env && k.file), { message: 'give the key either by env or by file, not both' })
      .optional(),
    patterns: z.array(patternSchema).optional(),
    sensitiveNames: z.array(z.string().min(1)).optional(),
    assignments: z.boolean().optional(),
    flags: z.boolean().optional(),
    allow: z
      .object({
        values: z.array(z.string().min(1)).optional(),
        names: z.array(z.string().min(1)).optional(),
        detectors: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    pseudonymize: z
      .object({
        users: z.boolean().optional(),
        emails: z.boolean().optional(),
        sourceIPs: z.boolean().optional(),
        keepUsers: z.array(z.string()).optional(),
        keepPrivateIPs: z.boolean().optional(),
        keepEmailDomains: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type RedactConfig = z.infer<typeof configSchema>;

export interface ConfigProblem {
  severity: 'error' | 'warning';
  /** Path in the file, as `patterns[2].regex`. */
  path: string;
  line?: number;
  column?: number;
  message: string;
}

export interface CheckedConfig {
  config: RedactConfig | undefined;
  problems: ConfigProblem[];
}

/** Ordinary strings of audit events that a redaction pattern should not match. */
export const ORDINARY_TEXT: readonly string[] = [
  'default',
  'kube-system',
  'get',
  'list',
  'pods',
  'secrets',
  'system:serviceaccount:kube-system:replicaset-controller',
  'system:authenticated',
  '2024-05-01T10:00:00.123456Z',
  '10.0.0.5',
  '3f2b1c9e-8d7a-4b6c-9e0f-1a2b3c4d5e6f',
  'kubectl/v1.30.0 (linux/amd64) kubernetes/abc123',
  '/api/v1/namespaces/default/pods/web-1',
  'registry.example.com/payments:1.2.0',
  'Running',
  'allow',
];

const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*](?:\?)?\)(?:[+*]|\{\d*,\d*\})/;
const STRUCTURAL_RULES: readonly string[] = [
  RULES.secretData,
  RULES.secretStringData,
  RULES.secretBody,
  RULES.tokenRequest,
  RULES.tokenReview,
  RULES.csrPrivateKey,
  RULES.sensitiveName,
  RULES.tooDeep,
  RULES.pseudonym,
];
const SWITCHABLE_RULES: readonly string[] = [...BUILTIN_DETECTOR_IDS, ASSIGNMENT_RULE, RULES.sensitiveFlag];

/** Keys each object of the file accepts, for "did you mean" hints. */
const KNOWN_KEYS: Record<string, readonly string[]> = {
  '': Object.keys(configSchema.shape),
  key: ['env', 'file'],
  allow: ['values', 'names', 'detectors'],
  pseudonymize: ['users', 'emails', 'sourceIPs', 'keepUsers', 'keepPrivateIPs', 'keepEmailDomains'],
  pattern: Object.keys(patternSchema.shape),
};

/** Number of capture groups in a regular expression source. */
function groupCount(source: string): number {
  return new RegExp(`${source}|`).exec('')!.length - 1;
}

/** Checks a regular expression: syntax, empty matches, ordinary text, nested quantifiers. */
export function checkPattern(
  source: string,
  flags: string,
  opts: { group?: number; ordinary?: boolean } = {},
): { error?: string; warnings: string[] } {
  const warnings: string[] = [];
  let re: RegExp;
  try {
    re = new RegExp(source, `${flags}g`);
  } catch (err) {
    const m = err instanceof Error ? err.message : String(err);
    return {
      error: m.replace(/^Invalid regular expression: /, 'not a valid regular expression: '),
      warnings,
    };
  }
  if (new RegExp(`^(?:${source})$`, flags).test('')) {
    return { error: 'matches the empty string, so it would match at every position of every text', warnings };
  }
  if (opts.group !== undefined && opts.group > groupCount(source)) {
    return {
      error: `group ${opts.group} does not exist: the expression has ${groupCount(source)} capture group(s)`,
      warnings,
    };
  }
  if (opts.ordinary !== false) {
    const hit = ORDINARY_TEXT.find((t) => {
      re.lastIndex = 0;
      return re.test(t);
    });
    if (hit !== undefined)
      warnings.push(
        `also matches ordinary event text such as ${JSON.stringify(hit)}: it would redact it too`,
      );
  }
  if (NESTED_QUANTIFIER.test(source)) {
    warnings.push('has a quantified group that itself ends in a quantifier, which can take exponential time');
  }
  return { warnings };
}

/** Validates configuration text; reports every problem with its place. */
export function checkRedactConfigText(text: string): CheckedConfig {
  const y = parseLocated(text);
  const problems: ConfigProblem[] = y.errors.map((e) => ({ severity: 'error', path: '(syntax)', ...e }));
  if (problems.length > 0) return { config: undefined, problems };
  let raw = y.doc.toJS() as unknown;
  let prefix: PropertyKey[] = [];
  if (raw === null || raw === undefined) raw = {};
  // The settings may also sit under a `redaction:` key (a section of a larger file).
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'redaction' in raw) {
    const keys = Object.keys(raw);
    if (keys.length === 1) {
      raw = (raw as { redaction: unknown }).redaction ?? {};
      prefix = ['redaction'];
    }
  }
  const parsed = configSchema.safeParse(raw);
  const add = (severity: ConfigProblem['severity'], path: PropertyKey[], message: string, key?: string) => {
    const full = [...prefix, ...path];
    problems.push({
      severity,
      path: pathText(key !== undefined ? [...full, key] : full, '(top level)'),
      ...exactPlaceOf(y, full, key),
      message,
    });
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as PropertyKey[];
      if (issue.code === 'unrecognized_keys') {
        const where = path.length >= 2 && path[0] === 'patterns' ? 'pattern' : String(path[0] ?? '');
        for (const k of issue.keys) {
          const s = closest(k, KNOWN_KEYS[where] ?? []);
          add('error', path, `unknown key ${JSON.stringify(k)}${s ? ` (did you mean ${s}?)` : ''}`, k);
        }
      } else add('error', path, issue.message);
    }
  }
  // The checks below also run on a file that fails the schema, so that one pass reports every problem.
  const loose = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const obj = (v: unknown): Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const str = (v: unknown): v is string => typeof v === 'string' && v !== '';
  const ids = new Set<string>();
  arr(loose.patterns).forEach((item, i) => {
    const p = obj(item);
    if (str(p.id)) {
      if (
        BUILTIN_DETECTOR_IDS.includes(p.id) ||
        STRUCTURAL_RULES.includes(p.id) ||
        p.id === ASSIGNMENT_RULE
      ) {
        add(
          'error',
          ['patterns', i, 'id'],
          `${JSON.stringify(p.id)} is the id of a built-in rule; choose another`,
        );
      } else if (ids.has(p.id)) {
        add('error', ['patterns', i, 'id'], `${JSON.stringify(p.id)} is used by an earlier pattern`);
      }
      ids.add(p.id);
    }
    if (!str(p.regex)) return;
    const flags = typeof p.flags === 'string' && /^[imsu]*$/.test(p.flags) ? p.flags : '';
    const group =
      typeof p.group === 'number' && Number.isInteger(p.group) && p.group >= 0 ? p.group : undefined;
    const c = checkPattern(p.regex, flags, group !== undefined ? { group } : {});
    if (c.error) add('error', ['patterns', i, c.error.startsWith('group') ? 'group' : 'regex'], c.error);
    for (const w of c.warnings) add('warning', ['patterns', i, 'regex'], w);
  });
  const allow = obj(loose.allow);
  arr(allow.values).forEach((v, i) => {
    if (!str(v)) return;
    const c = checkPattern(v, '', { ordinary: false });
    if (c.error) add('error', ['allow', 'values', i], c.error);
    for (const w of c.warnings) add('warning', ['allow', 'values', i], w);
  });
  arr(loose.sensitiveNames).forEach((n, i) => {
    if (!str(n)) return;
    const norm = normalizeName(n);
    if (norm === '') add('error', ['sensitiveNames', i], 'has no letters or digits, so it names nothing');
    else if (norm.length < 3)
      add('warning', ['sensitiveNames', i], `"${norm}" is short: every name containing it becomes sensitive`);
  });
  arr(allow.detectors).forEach((d, i) => {
    if (!str(d) || SWITCHABLE_RULES.includes(d) || ids.has(d)) return;
    if (STRUCTURAL_RULES.includes(d)) {
      add(
        'error',
        ['allow', 'detectors', i],
        `${JSON.stringify(d)} cannot be switched off (it removes Secret values and tokens); use --no-redact to import without redaction`,
      );
      return;
    }
    const s = closest(d, [...SWITCHABLE_RULES, ...ids]);
    add(
      'error',
      ['allow', 'detectors', i],
      `unknown rule ${JSON.stringify(d)}${s ? ` (did you mean ${s}?)` : ''}`,
    );
  });
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  if (!parsed.success) return { config: undefined, problems };
  const config = parsed.data;
  const pz = config.pseudonymize;
  if (pz && !pz.users && !pz.emails && !pz.sourceIPs) {
    add(
      'warning',
      ['pseudonymize'],
      'none of users, emails or sourceIPs is true, so nothing is pseudonymized',
    );
  }
  return { config, problems };
}

/** Compiles a validated configuration into redactor options; reads the key when one is needed. */
export function compileRedactConfig(
  config: RedactConfig = {},
  env: NodeJS.ProcessEnv = process.env,
): RedactOptions {
  const off = new Set(config.allow?.detectors ?? []);
  const detectors: Detector[] = BUILTIN_DETECTORS.filter((d) => !off.has(d.id));
  for (const p of config.patterns ?? []) {
    if (off.has(p.id)) continue;
    const flags = `${p.flags ?? ''}g${p.group ? 'd' : ''}`;
    detectors.push({
      id: p.id,
      title: p.description ?? `configured pattern ${p.id}`,
      regex: new RegExp(p.regex, flags),
      ...(p.group ? { group: p.group } : {}),
      examples: [],
    });
  }
  const key = needsKey(config) ? readKey(config, env) : undefined;
  const pz = config.pseudonymize;
  const options: RedactOptions = {
    detectors,
    names: new NameClassifier({
      extraWords: config.sensitiveNames ?? [],
      allowNames: config.allow?.names ?? [],
    }),
    allowValues: (config.allow?.values ?? []).map((v) => new RegExp(v)),
    assignments: config.assignments !== false && !off.has(ASSIGNMENT_RULE),
    flags: config.flags !== false && !off.has(RULES.sensitiveFlag),
    marker: new Marker(config.hashValues ? key : undefined),
  };
  if (key && pz && (pz.users || pz.emails || pz.sourceIPs)) {
    options.pseudonymizer = new Pseudonymizer(key, {
      users: pz.users ?? false,
      emails: pz.emails ?? false,
      sourceIPs: pz.sourceIPs ?? false,
      keepUsers: pz.keepUsers ?? DEFAULT_KEEP_USERS,
      keepPrivateIPs: pz.keepPrivateIPs ?? true,
      keepEmailDomains: pz.keepEmailDomains ?? true,
    });
  }
  return options;
}

/** Formats problems one per line: `file:line:column: error: path: message`. */
export function formatProblems(file: string, problems: readonly ConfigProblem[]): string {
  return problems
    .map((p) => {
      const place = [file, p.line, p.column].filter((x) => x !== undefined).join(':');
      return `${place}: ${p.severity}: ${p.path}: ${p.message}`;
    })
    .join('\n');
}

/** The text of a configuration file; throws KT_CONFIG_READ when it cannot be read. */
export function readRedactConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new KubetrailError(
      'KT_CONFIG_READ',
      missing ? `the redaction config ${file} does not exist` : `cannot read the redaction config ${file}`,
      { where: { file }, cause: err },
    );
  }
}

/** Reads and validates a configuration file; throws KT_REDACT_CONFIG (or KT_CONFIG_READ) on errors. */
export function readRedactConfig(file: string): { config: RedactConfig; problems: ConfigProblem[] } {
  const checked = checkRedactConfigText(readRedactConfigText(file));
  const errors = checked.problems.filter((p) => p.severity === 'error');
  if (!checked.config || errors.length > 0) {
    const first = errors[0]!;
    throw new KubetrailError(
      'KT_REDACT_CONFIG',
      errors.length === 1
        ? `${first.path}: ${first.message}`
        : `${errors.length} problems:\n${formatProblems(file, errors)}`,
      {
        where: {
          file,
          ...(first.line !== undefined ? { line: first.line } : {}),
          ...(first.column !== undefined ? { column: first.column } : {}),
        },
      },
    );
  }
  return { config: checked.config, problems: checked.problems };
}

/**
 * The redactor options for a command: the built-in rules, plus a configuration file when one is given.
 * `detectOnly` (scanning) leaves out keyed hashes and pseudonyms, so no key is needed.
 */
export function loadRedactOptions(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { detectOnly?: boolean } = {},
): RedactOptions {
  const config = file ? readRedactConfig(file).config : {};
  if (opts.detectOnly) {
    const { hashValues: _h, pseudonymize: _p, ...rules } = config;
    return compileRedactConfig(rules, env);
  }
  return compileRedactConfig(config, env);
}
