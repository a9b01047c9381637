// `kubetrail import` in process: the per-event size cap (--max-event-bytes) and its line in the summary.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../test-support/cli.js';
import { makeEvent } from '../../test-support/events.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-import-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('import --max-event-bytes', () => {
  const log = path.join(dir, 'audit.log');
  const big = makeEvent({
    verb: 'create',
    objectRef: { resource: 'configmaps', namespace: 'prod', name: 'bundle', apiVersion: 'v1' },
    requestObject: { kind: 'ConfigMap', data: { blob: 'x'.repeat(200_000) } },
  });
  const small = makeEvent();
  writeFileSync(log, `${JSON.stringify(big)}\n${JSON.stringify(small)}\n`);

  it('stores a larger event without its bodies and says so in the summary', async () => {
    const db = path.join(dir, 'capped.duckdb');
    const r = await runCli(['import', log, '--db', db, '--max-event-bytes', '65536']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^truncated {4}1 \(larger than the cap/m);
    const q = await runCli(['query', '--db', db, 'name:bundle', '-o', 'ndjson']);
    const stored = JSON.parse(q.out.trim()) as {
      requestObject?: unknown;
      annotations: Record<string, string>;
    };
    expect(stored.requestObject).toBeUndefined();
    expect(stored.annotations['audit.k8s.io/truncated']).toBe('true');
  });

  it('keeps the event whole under the default cap', async () => {
    const db = path.join(dir, 'default.duckdb');
    const r = await runCli(['import', log, '--db', db, '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ stored: 2, truncated: 0 });
  });

  it('refuses a cap outside the accepted range, naming the flag', async () => {
    const r = await runCli(['import', log, '--db', path.join(dir, 'x.duckdb'), '--max-event-bytes', '10']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--max-event-bytes takes a whole number of bytes from 65536');
  });
});
