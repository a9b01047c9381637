import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/event.js';
import { DEMO_SEED, incidentAuditID } from '../../generate/index.js';
import { runCli } from '../../test-support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-demo-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lines = (text: string) => text.split('\n').filter((l) => l.length > 0);

describe('kubetrail demo', () => {
  it('writes the demo day as JSON lines that import reads', async () => {
    const file = path.join(dir, 'demo.log');
    const before = Date.now();
    const run = await runCli(['demo', '--out', file, '--events', '3000']);
    expect(run.err).toMatch(/wrote [\d,]+ events/);
    expect(run.code).toBe(0);
    const events = lines(readFileSync(file, 'utf8')).map((l) => JSON.parse(l) as AuditEvent);
    expect(events.length).toBeGreaterThan(2400);
    expect(events.length).toBeLessThan(3600);
    expect(events.every((e) => e.kind === 'Event' && e.apiVersion === 'audit.k8s.io/v1')).toBe(true);
    const last = Math.max(...events.map((e) => Date.parse(e.stageTimestamp)));
    expect(last).toBeGreaterThan(before - 5 * 60_000);
    expect(last).toBeLessThanOrEqual(Date.now());
    expect(events.map((e) => e.auditID)).toContain(incidentAuditID(DEMO_SEED, 'privileged-pod', 0));

    const db = path.join(dir, 'demo.duckdb');
    const imported = await runCli(['import', file, '--db', db, '-o', 'json']);
    expect(imported.code).toBe(0);
    expect((JSON.parse(imported.out) as { stored: number }).stored).toBe(events.length);
  }, 60_000);

  it('keeps an existing file unless --force', async () => {
    const file = path.join(dir, 'kept.log');
    writeFileSync(file, 'precious\n');
    const refused = await runCli(['demo', '--out', file, '--events', '100']);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('KT_OUTPUT_EXISTS');
    expect(refused.err).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
    const forced = await runCli(['demo', '--out', file, '--events', '100', '--force']);
    expect(forced.code).toBe(0);
    expect(lines(readFileSync(file, 'utf8')).length).toBeGreaterThan(50);
  });

  it('writes to standard output with --out -', async () => {
    const run = await runCli(['demo', '--out', '-', '--events', '200']);
    expect(run.code).toBe(0);
    const events = lines(run.out).map((l) => JSON.parse(l) as AuditEvent);
    expect(events.length).toBeGreaterThan(100);
    expect(run.err).toBe('');
  });

  it('refuses a bad --events and a path it cannot create', async () => {
    for (const bad of ['0', '-5', '1e3', 'many', '100000001']) {
      const run = await runCli(['demo', '--out', path.join(dir, 'x.log'), '--events', bad]);
      expect(run.code, bad).toBe(2);
      expect(run.err, bad).toContain('KT_USAGE');
    }
    expect(existsSync(path.join(dir, 'x.log'))).toBe(false);
    const missing = path.join(dir, 'no-such-dir', 'x.log');
    const run = await runCli(['demo', '--out', missing, '--events', '100']);
    expect(run.code).toBe(3);
    expect(run.err).toContain('KT_OUTPUT_WRITE');
    expect(run.err).toContain(missing);
  });
});
