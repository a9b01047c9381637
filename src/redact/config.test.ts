// Tests of the redaction configuration: strict schema with positioned problems, pattern checks, rule ids,
// the `redaction:` section form, keys for hashes and pseudonyms, and the compiled options.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KubetrailError } from '../core/errors.js';
import { checkPattern, checkRedactConfigText, compileRedactConfig, readRedactConfig } from './config.js';
import { BUILTIN_DETECTOR_IDS } from './detectors.js';

const errors = (text: string) => checkRedactConfigText(text).problems.filter((p) => p.severity === 'error');

describe('checkPattern', () => {
  it('reports syntax errors, empty matches, missing groups, ordinary text and nested quantifiers', () => {
    expect(checkPattern('(abc', '').error).toMatch(/not a valid regular expression: .*Unterminated group/);
    expect(checkPattern('a*', '').error).toMatch(/matches the empty string/);
    expect(checkPattern('(a)b', '', { group: 2 }).error).toMatch(
      /group 2 does not exist: the expression has 1/,
    );
    expect(checkPattern('[a-z]+', '').warnings[0]).toMatch(/ordinary event text such as "default"/);
    expect(checkPattern('(x+)+y', '').warnings.join()).toMatch(/exponential/);
    expect(checkPattern('acme_[a-z0-9]{32}', '')).toEqual({ warnings: [] });
  });
});

describe('checkRedactConfigText', () => {
  it('accepts an empty file and the full format', () => {
    expect(checkRedactConfigText('').problems).toEqual([]);
    const full = [
      'hashValues: true',
      'key: { env: MY_KEY }',
      'patterns:',
      '  - { id: acme-key, regex: "acme_[a-z0-9]{32}", flags: i, description: ACME API key }',
      '  - { id: acme-url, regex: "acme://[^@]+:([^@]+)@", group: 1 }',
      'sensitiveNames: [ssn, pin-code]',
      'assignments: true',
      'flags: true',
      'allow:',
      '  values: ["^dev-"]',
      '  names: [tokenizer]',
      '  detectors: [bootstrap-token, acme-url]',
      'pseudonymize: { users: true, emails: true, sourceIPs: false, keepUsers: ["ci-*"], keepPrivateIPs: true, keepEmailDomains: false }',
    ].join('\n');
    const c = checkRedactConfigText(full);
    expect(c.problems).toEqual([]);
    expect(c.config?.patterns).toHaveLength(2);
  });

  it('places each problem at its line and column, all of them in one pass', () => {
    const text = [
      'patterns:', // 1
      '  - id: Bad_Id', // 2
      "    regex: '(x'", // 3
      '  - id: jwt', // 4
      "    regex: 'y+'", // 5
      'allow:', // 6
      '  detectors: [secret-data, jwtt]', // 7
      'hashvalues: true', // 8
    ].join('\n');
    const p = errors(text);
    const at = (path: string) => p.find((x) => x.path === path);
    expect(at('patterns[0].id')).toMatchObject({ line: 2, column: 9 });
    expect(at('patterns[0].regex')).toMatchObject({ line: 3, column: 12 });
    expect(at('patterns[1].id')?.message).toMatch(/built-in rule/);
    expect(at('allow.detectors[0]')?.message).toMatch(/cannot be switched off/);
    expect(at('allow.detectors[1]')?.message).toMatch(/did you mean jwt\?/);
    expect(at('hashvalues')).toMatchObject({ line: 8, column: 1 });
    expect(at('hashvalues')?.message).toMatch(/did you mean hashValues\?/);
  });

  it('reads YAML syntax errors with their place, and the `redaction:` section form', () => {
    const bad = checkRedactConfigText('patterns: [\n');
    expect(bad.config).toBeUndefined();
    expect(bad.problems[0]).toMatchObject({ severity: 'error', path: '(syntax)', line: expect.any(Number) });
    const section = checkRedactConfigText('redaction:\n  patterns:\n    - id: x-key\n      regex: "(y"\n');
    expect(section.problems[0]).toMatchObject({ path: 'redaction.patterns[0].regex', line: 4 });
  });

  it('rejects types and unknown keys in nested objects', () => {
    expect(errors('patterns: [{ id: a, regex: "x1", flag: i }]')[0]?.message).toMatch(/did you mean flags\?/);
    expect(errors('pseudonymize: { user: true }')[0]?.message).toMatch(/did you mean users\?/);
    expect(errors('hashValues: yes-please')[0]?.path).toBe('hashValues');
    expect(errors('key: { env: A, file: b }')[0]?.message).toMatch(/either by env or by file/);
  });
});

describe('compileRedactConfig and keys', () => {
  it('compiles the built-in rules with no configuration', () => {
    const o = compileRedactConfig();
    expect(o.detectors.map((d) => d.id)).toEqual(BUILTIN_DETECTOR_IDS);
    expect(o.marker.hashed).toBe(false);
    expect(o.pseudonymizer).toBeUndefined();
  });

  it('needs a key of at least 16 bytes for hashes and pseudonyms', () => {
    const need = (env: Record<string, string>) => () => compileRedactConfig({ hashValues: true }, env);
    expect(need({})).toThrow(KubetrailError);
    expect(need({})).toThrow(/KUBETRAIL_REDACT_KEY is not set/);
    expect(need({ KUBETRAIL_REDACT_KEY: 'short' })).toThrow(/at least 16/);
    expect(
      compileRedactConfig({ hashValues: true }, { KUBETRAIL_REDACT_KEY: 'x'.repeat(16) }).marker.hashed,
    ).toBe(true);
    expect(() => compileRedactConfig({ key: { env: 'OTHER' }, pseudonymize: { users: true } }, {})).toThrow(
      /OTHER is not set/,
    );
  });

  it('reads the key from a file, and reports files that cannot be read', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-redact-config-'));
    try {
      const keyFile = path.join(dir, 'key');
      writeFileSync(keyFile, 'k'.repeat(40) + '\n');
      const cfg = path.join(dir, 'redaction.yaml');
      writeFileSync(cfg, `hashValues: true\nkey: { file: ${JSON.stringify(keyFile)} }\n`);
      const { config } = readRedactConfig(cfg);
      expect(compileRedactConfig(config, {}).marker.hashed).toBe(true);
      expect(() => readRedactConfig(path.join(dir, 'missing.yaml'))).toThrow(/does not exist/);
      writeFileSync(cfg, 'patterns:\n  - id: a-b\n    regex: "(x"\n');
      try {
        readRedactConfig(cfg);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(KubetrailError);
        const e = err as KubetrailError;
        expect(e.code).toBe('KT_REDACT_CONFIG');
        expect(e.where).toMatchObject({ file: cfg, line: 3, column: 12 });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
