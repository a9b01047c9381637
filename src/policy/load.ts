// Loads an audit Policy from YAML or JSON text the way kube-apiserver does, and validates it with the API
// server's rules (validate.ts), reading the YAML tree through yaml-fields.ts. Every problem is collected
// (never just the first), each with its field path and the line and column in the file. Leniency follows
// the API server: unknown or misspelled keys, duplicate keys and extra YAML documents do not stop it
// loading (they are warnings here); wrong types, a missing or unknown level, bad stages, bad non-resource
// URLs, bad groups and a policy without rules are errors.
import { readFile, stat } from 'node:fs/promises';
import { isMap, type Document } from 'yaml';
import { KubetrailError } from '../core/errors.js';
import { parseLocatedAll, placeOfOffset, syntaxErrors, type Place } from '../core/located-yaml.js';
import type { Level, Stage } from '../core/event.js';
import { validate } from './validate.js';
import {
  boolField,
  deref,
  fields,
  isNull,
  nearest,
  objectList,
  posOf,
  report,
  stringField,
  stringList,
  typeError,
  type Ctx,
  type YNode,
} from './yaml-fields.js';
import type { GroupResources, Policy, PolicyRule, Problem } from './types.js';

/** Largest policy file accepted (real policies are a few kilobytes). */
export const MAX_POLICY_BYTES = 1024 * 1024;

export const POLICY_API_VERSIONS = ['audit.k8s.io/v1', 'audit.k8s.io/v1beta1'] as const;

export type Position = Place;

export interface LoadedPolicy {
  /** The policy as the API server would use it (unknown keys dropped, last duplicate key kept). */
  policy: Policy;
  /** Errors and warnings, in file order. */
  problems: Problem[];
  file?: string;
  /** Where a field path is in the file (the nearest enclosing field when the path itself is absent). */
  positionOf(path: string): Position | undefined;
}

const POLICY_KEYS = ['apiVersion', 'kind', 'metadata', 'rules', 'omitStages', 'omitManagedFields'];
const RULE_KEYS = [
  'level',
  'users',
  'userGroups',
  'verbs',
  'resources',
  'namespaces',
  'nonResourceURLs',
  'omitStages',
  'omitManagedFields',
];
const GROUP_RESOURCE_KEYS = ['group', 'resources', 'resourceNames'];

function readGroupResources(ctx: Ctx, node: YNode, path: string): GroupResources {
  const f = fields(ctx, node, path, GROUP_RESOURCE_KEYS, 'resources entry');
  const gr: GroupResources = {};
  const group = f.has('group') ? stringField(ctx, f.get('group'), `${path}.group`) : undefined;
  if (group !== undefined) gr.group = group;
  const resources = f.has('resources') ? stringList(ctx, f.get('resources'), `${path}.resources`) : undefined;
  if (resources) gr.resources = resources;
  const names = f.has('resourceNames')
    ? stringList(ctx, f.get('resourceNames'), `${path}.resourceNames`)
    : undefined;
  if (names) gr.resourceNames = names;
  return gr;
}

function readRule(ctx: Ctx, node: YNode, path: string): PolicyRule {
  const f = fields(ctx, node, path, RULE_KEYS, 'rule');
  const level = f.has('level') ? stringField(ctx, f.get('level'), `${path}.level`) : undefined;
  const rule: PolicyRule = { level: (level ?? '') as Level };
  for (const key of ['users', 'userGroups', 'verbs', 'namespaces', 'nonResourceURLs'] as const) {
    if (!f.has(key)) continue;
    const list = stringList(ctx, f.get(key), `${path}.${key}`);
    if (list) rule[key] = list;
  }
  if (f.has('resources')) {
    const items = objectList(ctx, f.get('resources'), `${path}.resources`, 'resources entries');
    rule.resources = items.map((it) => readGroupResources(ctx, it.node, it.path));
  }
  if (f.has('omitStages')) {
    const stages = stringList(ctx, f.get('omitStages'), `${path}.omitStages`);
    if (stages) rule.omitStages = stages as Stage[];
  }
  if (f.has('omitManagedFields')) {
    const b = boolField(ctx, f.get('omitManagedFields'), `${path}.omitManagedFields`);
    if (b !== undefined) rule.omitManagedFields = b;
  }
  return rule;
}

/** Parses and validates policy text. Never throws for content problems: they are in `problems`. */
export function parsePolicy(text: string, file?: string): LoadedPolicy {
  const { docs: list, lc } = parseLocatedAll(text, { version: '1.1', uniqueKeys: false });
  const problems: Problem[] = [];
  const positions = new Map<string, Position>();
  const policy: Policy = { apiVersion: '', kind: 'Policy', rules: [] };
  const positionOf = (path: string) => nearest(positions, path);
  const result: LoadedPolicy = { policy, problems, positionOf, ...(file !== undefined ? { file } : {}) };
  const first = list[0];
  const ctx: Ctx = { problems, positions, lc, doc: first as Document, file, aliases: 0 };
  if (!first || isNull(first.contents)) {
    report(
      ctx,
      'error',
      'empty',
      '',
      'the policy file is empty; the API server refuses a policy with no rules',
      {
        line: 1,
        column: 1,
      },
    );
    return result;
  }
  const syntax = syntaxErrors(first, lc)[0];
  if (syntax) {
    report(ctx, 'error', 'syntax', '', `YAML/JSON syntax: ${syntax.message}`, {
      line: syntax.line,
      column: syntax.column,
    });
    return result;
  }
  if (list.length > 1) {
    const extra = list[1]!;
    report(
      ctx,
      'warning',
      'extra-document',
      '',
      `the file holds ${list.length} YAML documents; the API server reads only the first`,
      extra.range ? placeOfOffset(lc, extra.range[0]) : undefined,
    );
  }
  const root = deref(ctx, first.contents);
  positions.set('', posOf(ctx, root) ?? { line: 1, column: 1 });
  if (!isMap(root)) {
    typeError(ctx, '(document)', 'a mapping with apiVersion, kind and rules', root);
    return result;
  }
  const f = fields(ctx, root, '', POLICY_KEYS, 'policy');
  const apiVersion = f.has('apiVersion') ? stringField(ctx, f.get('apiVersion'), 'apiVersion') : undefined;
  const kind = f.has('kind') ? stringField(ctx, f.get('kind'), 'kind') : undefined;
  if (!apiVersion) {
    report(
      ctx,
      'error',
      'missing-api-version',
      'apiVersion',
      'apiVersion is missing: the API server needs audit.k8s.io/v1',
      {
        line: positions.get('')!.line,
        column: positions.get('')!.column,
      },
    );
  } else if (apiVersion === 'audit.k8s.io/v1beta1') {
    report(
      ctx,
      'warning',
      'deprecated-api-version',
      'apiVersion',
      'audit.k8s.io/v1beta1 is no longer served by current API servers (removed in Kubernetes 1.24); use audit.k8s.io/v1',
    );
  } else if (apiVersion !== 'audit.k8s.io/v1') {
    report(
      ctx,
      'error',
      'unknown-api-version',
      'apiVersion',
      `unknown apiVersion ${JSON.stringify(apiVersion)}: a policy is audit.k8s.io/v1 (or the older audit.k8s.io/v1beta1)`,
    );
  }
  if (apiVersion && kind === undefined) {
    report(ctx, 'error', 'missing-kind', 'kind', "kind is missing: it must be 'Policy'", positions.get(''));
  } else if (kind !== undefined && kind !== 'Policy') {
    report(
      ctx,
      'error',
      'wrong-kind',
      'kind',
      `kind ${JSON.stringify(kind)} is not a policy: it must be 'Policy'`,
    );
  }
  policy.apiVersion = apiVersion ?? '';
  if (f.has('metadata')) {
    const m = f.get('metadata');
    if (!isNull(m) && !isMap(m)) typeError(ctx, 'metadata', 'a mapping', m);
  }
  if (f.has('omitStages')) {
    const stages = stringList(ctx, f.get('omitStages'), 'omitStages');
    if (stages) policy.omitStages = stages as Stage[];
  }
  if (f.has('omitManagedFields')) {
    const b = boolField(ctx, f.get('omitManagedFields'), 'omitManagedFields');
    if (b !== undefined) policy.omitManagedFields = b;
  }
  if (f.has('rules')) {
    for (const it of objectList(ctx, f.get('rules'), 'rules', 'rules')) {
      policy.rules.push(readRule(ctx, it.node, it.path));
    }
  }
  validate(ctx, policy);
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
  return result;
}

/** Formats one problem for people: `file:line:column: severity [id]: message`. */
export function formatProblem(p: Problem): string {
  const place = [p.file, p.line, p.column].filter((x) => x !== undefined).join(':');
  return `${place ? `${place}: ` : ''}${p.severity} [${p.id}]: ${p.message}${p.path && !p.message.includes(p.path) ? ` (${p.path})` : ''}`;
}

/** Raises KT_POLICY_INVALID listing every error, located at the first one. */
export function assertValid(loaded: LoadedPolicy): Policy {
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length === 0) return loaded.policy;
  const first = errors[0]!;
  const rest = errors.slice(1).map((p) => `\n  ${formatProblem(p)}`);
  throw new KubetrailError(
    'KT_POLICY_INVALID',
    `${first.message}${rest.length > 0 ? `\n  and ${rest.length} more:${rest.join('')}` : ''}`,
    {
      where: {
        ...(first.file !== undefined ? { file: first.file } : {}),
        ...(first.line !== undefined ? { line: first.line } : {}),
        ...(first.column !== undefined ? { column: first.column } : {}),
        ...(first.path ? { path: first.path } : {}),
      },
    },
  );
}

/** Reads a policy file (`-` for standard input). Raises KT_POLICY_READ when it cannot be read. */
export async function readPolicyFile(
  file: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<LoadedPolicy> {
  let text: string;
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of stdin as AsyncIterable<Buffer | string>) {
        const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
        size += b.length;
        if (size > MAX_POLICY_BYTES) throw new RangeError('too large');
        chunks.push(b);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } else {
      const s = await stat(file);
      if (s.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      if (s.size > MAX_POLICY_BYTES) throw new RangeError('too large');
      text = await readFile(file, 'utf8');
    }
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      err instanceof RangeError
        ? `it is larger than ${MAX_POLICY_BYTES / 1024 / 1024} MiB`
        : code === 'ENOENT'
          ? 'it does not exist'
          : code === 'EISDIR'
            ? 'it is a directory'
            : code === 'EACCES'
              ? 'permission denied'
              : (err as Error).message;
    throw new KubetrailError('KT_POLICY_READ', `cannot read the policy ${JSON.stringify(file)}: ${why}`, {
      where: { file },
      cause: err,
    });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parsePolicy(text, file === '-' ? '<stdin>' : file);
}

/** Reads and validates a policy file; raises KT_POLICY_READ or KT_POLICY_INVALID. */
export async function loadPolicyFile(file: string, stdin?: NodeJS.ReadableStream): Promise<LoadedPolicy> {
  const loaded = await readPolicyFile(file, stdin);
  assertValid(loaded);
  return loaded;
}
