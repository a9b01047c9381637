// `kubetrail prune` in process, on a DuckDB file: counting with --dry-run, removing, and its errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../test-support/events.js';
import { pruneCutoff } from './prune.js';
import { runCli } from '../../test-support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-prune-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(args);

describe('kubetrail prune', () => {
  it('counts with --dry-run, then removes the events before the time', async () => {
    const db = path.join(dir, 'p.duckdb');
    const lines = [1, 2, 3, 4].map((day) => {
      const t = `2024-03-0${day}T12:00:00.000000Z`;
      return JSON.stringify(
        makeEvent({ auditID: `day-${day}`, requestReceivedTimestamp: t, stageTimestamp: t }),
      );
    });
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect((await run('import', file, '--db', db)).code).toBe(0);

    const dry = await run('prune', '--before', '2024-03-03', '--dry-run', '--db', db, '-o', 'json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toEqual({
      before: '2024-03-03T00:00:00.000000Z',
      dryRun: true,
      matching: 2,
      removed: 0,
    });
    const done = await run('prune', '--before', '2024-03-03', '--db', db);
    expect(done.out).toBe('removed 2 events before 2024-03-03T00:00:00.000000Z\n');
    const left = await run('query', '--db', db, '-o', 'ndjson');
    expect(
      left.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).auditID),
    ).toEqual(['day-4', 'day-3']);
  });

  it('needs exactly one of --older-than and --before, and a valid value', async () => {
    const db = path.join(dir, 'none.duckdb');
    expect((await run('prune', '--db', db)).err).toContain('KT_USAGE');
    expect((await run('prune', '--older-than', '90d', '--before', '2024-01-01', '--db', db)).code).toBe(2);
    const bad = await run('prune', '--older-than', 'ninety days', '--db', db);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('KT_TIME_INVALID');
    expect(pruneCutoff({ olderThan: '2d' }, Date.UTC(2024, 0, 10))).toBe(Date.UTC(2024, 0, 8) * 1000);
  });
});
