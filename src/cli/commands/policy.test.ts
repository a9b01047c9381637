// The policy and setup commands end to end, in process: lint exit codes, check's JSON lines, simulate and
// recommend on the shared corpus and on generated events, presets, set-up output, and import --policy.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEMO_START, generateEvents } from '../../generate/index.js';
import { runCli } from '../../test-support/cli.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const corpus = path.resolve(root, '../shared/corpus');

const run = (...args: string[]) => runCli(args);

let dir: string;
let events: string;
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-policy-'));
  const generated = [
    ...generateEvents({ seed: 3, start: DEMO_START, durationMs: 3_600_000, eventsPerSecond: 1 }),
  ];
  events = file('events.jsonl', generated.map((e) => JSON.stringify(e)).join('\n') + '\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('policy lint', () => {
  it('exit 0 for a clean policy, 1 with --strict and warnings, 2 with errors', async () => {
    const clean = file('cis.yaml', (await run('policy', 'preset', 'cis')).out);
    expect(await run('policy', 'lint', clean)).toMatchObject({ code: 0, out: '' });
    const minimal = file('minimal.yaml', (await run('policy', 'preset', 'minimal')).out);
    const warned = await run('policy', 'lint', minimal);
    expect(warned.code).toBe(0);
    expect(warned.out).toMatch(/minimal\.yaml:\d+:\d+: warning \[noise-logged\]/);
    expect((await run('policy', 'lint', '--strict', minimal)).code).toBe(1);
    const bad = file('bad.yaml', 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Loud\n');
    const r = await run('policy', 'lint', bad, '-o', 'json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.out)).toMatchObject({
      errors: 1,
      problems: [{ id: 'invalid-level', line: 4, column: 12, path: 'rules[0].level' }],
    });
  });
  it('a missing file is KT_POLICY_READ (exit 2)', async () => {
    const r = await run('policy', 'lint', path.join(dir, 'none.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('KT_POLICY_READ');
  });
});

describe('policy check', () => {
  it('prints one JSON line per event with the decision', async () => {
    const pol = file(
      'p.yaml',
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: None\n    nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]\n  - level: Metadata\n',
    );
    const r = await run('policy', 'check', '--policy', pol, events);
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(1000);
    for (const l of lines)
      expect(Object.keys(l)).toEqual([
        'auditID',
        'stage',
        'level',
        'omitStages',
        'omitManagedFields',
        'rule',
      ]);
    expect(lines.some((l) => l.level === 'None' && l.rule === 0)).toBe(true);
    expect(
      lines.some((l) => l.level === 'Metadata' && l.rule === 1 && l.omitStages[0] === 'RequestReceived'),
    ).toBe(true);
  });
  it('an invalid policy stops it with KT_POLICY_INVALID and the position', async () => {
    const bad = file(
      'bad2.yaml',
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: Metadata\n    nonResourceURLs: [healthz]\n',
    );
    const r = await run('policy', 'check', '--policy', bad, events);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`KT_POLICY_INVALID: ${bad}:5:23 (rules[0].nonResourceURLs[0])`);
  });
});

describe('policy simulate and recommend', () => {
  it('recommend writes a policy that lints clean and that simulate confirms', async () => {
    const out = path.join(dir, 'rec.yaml');
    const r = await run('policy', 'recommend', events, '--out', out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/measured on [\d,]+ events .* −\d+\.\d% bytes; detection needs lost: 0/);
    expect((await run('policy', 'lint', '--strict', out)).code).toBe(0);
    const s = await run('policy', 'simulate', '--policy', out, events, '-o', 'json');
    const report = JSON.parse(s.out);
    expect(report.reduction.bytes).toBeGreaterThan(0.5);
    expect(report.lost).toBe(0);
    expect(report.perDay.after.bytes).toBeLessThan(report.perDay.before.bytes);
    const table = await run('policy', 'simulate', '--policy', out, events);
    expect(table.out).toMatch(/RULE\s+LEVEL \/ MATCHES\s+MATCHED\s+KEPT\s+DOWNGRADED\s+DROPPED/);
    expect(table.out).toMatch(/detection: nothing lost/);
  });
  it('simulate reports lost detection needs and --fail-on-loss exits 1', async () => {
    const pol = file(
      'drop.yaml',
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n    verbs: [list]\n  - level: Metadata\n',
    );
    const r = await run(
      'policy',
      'simulate',
      '--policy',
      pol,
      events,
      '--need',
      'verb:list',
      '--fail-on-loss',
    );
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/user:1: verb:list — [\d,]+ of [\d,]+ requests lost/);
  });
});

describe.skipIf(!existsSync(corpus))('on the shared corpus (skipped without ../shared/corpus)', () => {
  const falco = path.join(corpus, 'falco-k8s-audit');
  const demo = path.join(corpus, 'audit2rbac/demo.log');
  it('check decides every corpus event with the recommended preset', async () => {
    const pol = file('recommended.yaml', (await run('policy', 'preset', 'recommended')).out);
    const r = await run('policy', 'check', '--policy', pol, falco, demo);
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThanOrEqual(37 + 50);
    expect(r.err).toMatch(/not audit events/);
    const secretsRule = parse(readFileSync(pol, 'utf8')).rules.findIndex(
      (x: { resources?: { resources?: string[] }[] }) =>
        x.resources?.some((g) => g.resources?.includes('secrets')),
    );
    expect(lines.some((l) => l.rule === secretsRule && l.level === 'Metadata')).toBe(true);
  });
  it('simulate and recommend run on the corpus', async () => {
    const pol = file('cis.yaml', (await run('policy', 'preset', 'cis')).out);
    const s = await run('policy', 'simulate', '--policy', pol, falco, '-o', 'json');
    expect(s.code).toBe(0);
    expect(JSON.parse(s.out).before.events).toBeGreaterThanOrEqual(50);
    const r = await run('policy', 'recommend', demo);
    expect(r.code).toBe(0);
    expect(parse(r.out).kind).toBe('Policy');
  });
  it('import --policy applies the policy before storing', async () => {
    const pol = file(
      'imp.yaml',
      'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n    verbs: [list]\n  - level: Metadata\n',
    );
    const db = path.join(dir, 'store.duckdb');
    const r = await run('import', demo, '--db', db, '--policy', pol, '-o', 'json');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.read).toBe(37);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.stored).toBe(37 - s.dropped);
    const sim = await run('policy', 'simulate', '--policy', pol, '--db', db, '-o', 'json');
    expect(JSON.parse(sim.out)).toMatchObject({ before: { events: s.stored }, after: { events: s.stored } });
  });
});

describe('setup', () => {
  it('apiserver, webhook, kubeadm and kind print YAML', async () => {
    const a = await run('setup', 'apiserver', '--backend', 'both');
    expect(parse(a.out)).toContain('--audit-webhook-mode=batch');
    const w = await run(
      'setup',
      'webhook',
      '--server',
      'https://10.0.0.5:8443/webhook',
      '--token',
      't0k-0123456789abcdef',
      '--cluster',
      'prod',
    );
    expect(parse(w.out)).toMatchObject({
      kind: 'Config',
      users: [{ user: { token: 't0k-0123456789abcdef' } }],
    });
    const k = await run('setup', 'kubeadm');
    expect(parse(k.out)[0]).toMatchObject({ op: 'add', path: '/spec/containers/0/command/-' });
    const c = await run('setup', 'kubeadm', '--format', 'v1beta4');
    expect(parse(c.out)).toMatchObject({ kind: 'ClusterConfiguration' });
    const kind = await run('setup', 'kind', '--policy', path.join(dir, 'cis.yaml'));
    expect(parse(kind.out)).toMatchObject({ kind: 'Cluster', nodes: [{ role: 'control-plane' }] });
  });
  it('bad values are usage errors (exit 2)', async () => {
    expect((await run('setup', 'apiserver', '--log-maxage', 'soon')).code).toBe(2);
    expect((await run('setup', 'apiserver', '--backend', 'kafka')).code).toBe(2);
    expect((await run('setup', 'webhook', '--ca', path.join(dir, 'missing.crt'), '--embed')).code).toBe(2);
    expect((await run('policy', 'preset', 'strict')).code).toBe(2);
  });
});
