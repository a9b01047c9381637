// End-to-end tests of redaction through the built kubetrail command: import (redaction on by default,
// --no-redact), query over the store and over files, redact (files, --check, --list) and scan (files, the
// store, --policy, exit codes). No planted secret may appear in any output, stderr or written file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plantedArbitrary, type Planted } from '../test-support/planted-secrets.js';
import { BUILD, CORPUS, available } from '../test-support/requirements.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const bin = path.join(root, 'bin/kubetrail.js');
const built = available(BUILD);
const corpus = CORPUS.path;
const hasCorpus = available(CORPUS);

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, COLUMNS: '220', CI: '1', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr, all: `${r.stdout}\n${r.stderr}` };
}

describe.skipIf(!built)('redaction through the kubetrail command (skipped without a build)', () => {
  let dir: string;
  let log: string;
  let planted: Planted[];
  let secrets: string[];
  const noSecrets = (text: string, what: string) => {
    for (const s of secrets) expect(text.includes(s), `${what} holds a planted value`).toBe(false);
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-redact-e2e-'));
    planted = fc.sample(plantedArbitrary, { seed: 11, numRuns: 6 }).flat();
    planted.forEach((p, i) => (p.event.auditID = `e2e-${i}`));
    secrets = [...new Set(planted.flatMap((p) => p.secrets))];
    log = path.join(dir, 'audit.log');
    const bad = JSON.stringify({ kind: 'Secret', data: { k: planted[0]!.secrets[0] } });
    writeFileSync(log, [...planted.map((p) => JSON.stringify(p.event)), bad].join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('import redacts by default: nothing in its output, the store, the query output or the quarantine', () => {
    const db = path.join(dir, 'store.duckdb');
    const q = path.join(dir, 'quarantine.jsonl');
    const imp = run(['import', log, '--db', db, '--quarantine', q]);
    expect(imp.code).toBe(0);
    expect(imp.out).toMatch(new RegExp(`redacted\\s+${planted.length} events`));
    noSecrets(imp.all, 'import output');
    noSecrets(readFileSync(q, 'utf8'), 'quarantine file');
    for (const format of ['ndjson', 'table', 'wide', 'csv', 'json']) {
      const r = run(['query', '--db', db, '--limit', '1000', '-o', format]);
      expect(r.code).toBe(0);
      noSecrets(r.all, `query -o ${format}`);
    }
    const nd = run(['query', '--db', db, '--limit', '1000', '-o', 'ndjson']);
    expect(nd.out.trim().split('\n')).toHaveLength(planted.length);
    const files = readdirSync(dir).filter((f) => f.startsWith('store.duckdb'));
    for (const f of files) noSecrets(readFileSync(path.join(dir, f)).toString('latin1'), f);
    const scan = run(['scan', '--db', db]);
    expect(scan.code).toBe(0);
    expect(scan.out).toContain('no leaks');
  });

  it('query --file shows redacted events', () => {
    const r = run(['query', '--file', log, '--limit', '1000', '-o', 'ndjson']);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(planted.length);
    noSecrets(r.all, 'query --file');
  });

  it('redact FILE writes the log back without its secrets', () => {
    const r = run(['redact', log]);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(planted.length);
    expect(r.err).toMatch(/redacted \d+ value\(s\) in \d+ of \d+ events/);
    noSecrets(r.all, 'redact output');
  });

  it('scan finds every planted leak in files, exits 1, and never prints the values', () => {
    const r = run(['scan', log, '-o', 'json']);
    expect(r.code).toBe(1);
    noSecrets(r.all, 'scan output');
    const report = JSON.parse(r.out) as {
      eventsWithLeaks: number;
      leaks: { auditID: string; rule: string }[];
    };
    expect(report.eventsWithLeaks).toBe(planted.length);
    planted.forEach((p, i) => {
      const rules = new Set(report.leaks.filter((l) => l.auditID === `e2e-${i}`).map((l) => l.rule));
      for (const rule of p.rules) expect(rules, `${p.place}: ${rule}`).toContain(rule);
    });
    const table = run(['scan', log]);
    expect(table.code).toBe(1);
    expect(table.out).toContain('suggested fixes:');
    noSecrets(table.all, 'scan table');
  });

  it('scan of a store imported with --no-redact finds the leaks; --policy names the rule', () => {
    const db = path.join(dir, 'plain.duckdb');
    const imp = run(['import', log, '--db', db, '--no-redact', '-o', 'json']);
    expect(imp.code).toBe(0);
    expect(JSON.parse(imp.out).redacted).toBeNull();
    const policy = path.join(dir, 'policy.yaml');
    writeFileSync(
      policy,
      [
        'apiVersion: audit.k8s.io/v1',
        'kind: Policy',
        'rules:',
        '  - level: RequestResponse',
        '    resources:',
        '      - group: ""',
        '        resources: ["secrets", "configmaps"]',
        '  - level: Request',
      ].join('\n'),
    );
    const r = run(['scan', '--db', db, '--policy', policy, '-o', 'json']);
    expect(r.code).toBe(1);
    noSecrets(r.all, 'scan --policy');
    const report = JSON.parse(r.out) as {
      policy: boolean;
      leaks: { resource?: string; policy?: { rule: number | null } }[];
      fixes: { beforeRule?: number; policyRule?: string }[];
    };
    expect(report.policy).toBe(true);
    const secretLeak = report.leaks.find((l) => l.resource === 'secrets');
    expect(secretLeak?.policy?.rule).toBe(0);
    expect(report.fixes.some((f) => f.beforeRule === 0 && f.policyRule?.includes('"secrets"'))).toBe(true);
  });

  it('redact --check reports every bad pattern with its line; a good config passes', () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      [
        'patterns:',
        '  - id: acme-key',
        "    regex: 'acme_[a-z'",
        '  - id: everything',
        "    regex: '.*'",
        'allow:',
        '  detectors: [jwtt]',
        'pseudonymise: {}',
      ].join('\n'),
    );
    const r = run(['redact', '--check', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('bad.yaml:3:12: error: patterns[0].regex: not a valid regular expression');
    expect(r.err).toContain('bad.yaml:5:12: error: patterns[1].regex: matches the empty string');
    expect(r.err).toContain('unknown rule "jwtt" (did you mean jwt?)');
    expect(r.err).toContain('unknown key "pseudonymise" (did you mean pseudonymize?)');
    const good = path.join(dir, 'good.yaml');
    writeFileSync(
      good,
      "patterns:\n  - id: acme-key\n    regex: 'acme_[a-z0-9]{32}'\nallow:\n  detectors: [bootstrap-token]\n",
    );
    const ok = run(['redact', '--check', '--config', good]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('valid');
    const imp = run(['import', log, '--db', path.join(dir, 'bad.duckdb'), '--redact-config', bad]);
    expect(imp.code).toBe(2);
    expect(imp.err).toContain('KT_REDACT_CONFIG');
  });

  it('a configuration that needs a key fails clearly without one, and works with one', () => {
    const cfg = path.join(dir, 'hash.yaml');
    writeFileSync(cfg, 'hashValues: true\npseudonymize:\n  users: true\n  sourceIPs: true\n');
    const db = path.join(dir, 'hash.duckdb');
    const missing = run(['import', log, '--db', db, '--redact-config', cfg], { KUBETRAIL_REDACT_KEY: '' });
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('KT_REDACT_KEY');
    // Scanning only detects: the same configuration needs no key there.
    expect(run(['scan', log, '--config', cfg], { KUBETRAIL_REDACT_KEY: '' }).code).toBe(1);
    const key = 'an-example-key-that-is-long-enough';
    const ok = run(['import', log, '--db', db, '--redact-config', cfg], { KUBETRAIL_REDACT_KEY: key });
    expect(ok.code).toBe(0);
    const nd = run(['query', '--db', db, '--limit', '1000', '-o', 'ndjson']);
    noSecrets(nd.all, 'hashed store');
    expect(nd.out).toMatch(/\[REDACTED:hmac=[0-9a-f]{16}\]/);
    expect(nd.all).not.toContain(key);
  });

  it.skipIf(!hasCorpus)('scan of the shared corpus reports only the credentials really there', () => {
    const falco = path.join(corpus, 'falco-k8s-audit');
    const files = readdirSync(falco)
      .filter((f) => f.endsWith('.json'))
      .map((f) => path.join(falco, f));
    const r = run(['scan', ...files, path.join(corpus, 'audit2rbac/demo.log'), '-o', 'json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as {
      events: number;
      eventsWithLeaks: number;
      leaks: { name?: string }[];
    };
    expect(report.events).toBe(88);
    expect(report.eventsWithLeaks).toBe(6);
    expect(new Set(report.leaks.map((l) => l.name))).toEqual(new Set(['my-config']));
    const clean = run([
      'scan',
      path.join(corpus, 'audit2rbac/demo.log'),
      path.join(falco, 'create_secret.json'),
    ]);
    expect(clean.code).toBe(0);
  });
});
