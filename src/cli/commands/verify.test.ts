// `kubetrail verify` on a store, in process: a store written by import and pruned verifies clean (exit 0)
// with the default key and digest file; a change behind kubetrail's back is a finding (exit 1) in the
// table (escaped) and in JSON (the fixed shape); a public key that did not sign, a copy of the digest file
// cut short, usage errors (2) and an unreadable store (3).
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../test-support/events.js';
import { runCli } from '../../test-support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => runCli(args);
const db = path.join(dir, 'v.duckdb');

async function sql(statement: string): Promise<void> {
  const instance = await DuckDBInstance.create(db);
  const c = await instance.connect();
  try {
    await c.run(statement);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('kubetrail verify (store)', () => {
  beforeAll(async () => {
    const lines = [1, 2, 3, 4].map((day) => {
      const t = `2024-03-0${day}T12:00:00.000000Z`;
      return JSON.stringify(
        makeEvent({ auditID: `day-${day}`, requestReceivedTimestamp: t, stageTimestamp: t }),
      );
    });
    const file = path.join(dir, 'events.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    expect((await run('import', file, '--db', db)).code).toBe(0);
    expect((await run('import', file, '--db', db)).code).toBe(0);
    expect((await run('prune', '--before', '2024-03-02', '--db', db)).code).toBe(0);
  });

  it('verifies a store written by import and pruned: exit 0, with the default key and digest file', async () => {
    // The default key is made on first use, private to its owner, its public key beside it.
    const key = path.join(dir, 'integrity', 'signing.key');
    expect(statSync(key).mode & 0o077).toBe(0);
    expect(readFileSync(`${key}.pub`, 'utf8')).toMatch(/BEGIN PUBLIC KEY/);
    const r = await run('verify', '--db', db, '-o', 'json', '--no-record');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toEqual({
      verified: { events: 3, from: '2024-03-02T12:00:00.000000Z', to: '2024-03-04T12:00:00.000000Z' },
      findings: [],
    });
    const table = await run('verify', '--db', db, '--since', '2024-03-03', '--no-record');
    expect(table.code).toBe(0);
    expect(table.out).toBe(
      'OK: 2 events from 2024-03-03T12:00:00.000000Z to 2024-03-04T12:00:00.000000Z match their signed digests\n',
    );
  });

  it('names a change behind its back: exit 1, one line a finding (escaped) and a summary; JSON', async () => {
    await sql(`UPDATE events SET username = 'mallory' WHERE audit_id = 'day-3'`);
    await sql(
      `INSERT INTO events SELECT * REPLACE ('forged' || chr(27) || '[31m' AS audit_id) FROM events WHERE audit_id = 'day-4'`,
    );
    const j = await run('verify', '--db', db, '-o', 'json', '--no-record');
    expect(j.code).toBe(1);
    const report = JSON.parse(j.out) as { verified: unknown; findings: Record<string, unknown>[] };
    expect(report.verified).toEqual({
      events: 4,
      from: '2024-03-02T12:00:00.000000Z',
      to: '2024-03-04T12:00:00.000000Z',
    });
    expect(report.findings.map((f) => [f.kind, f.auditID, f.time])).toEqual([
      ['modified', 'day-3', '2024-03-03T12:00:00.000000Z'],
      ['inserted', 'forged\u001b[31m', '2024-03-04T12:00:00.000000Z'],
    ]);
    for (const f of report.findings) expect(Object.keys(f)).toEqual(['kind', 'auditID', 'time', 'detail']);

    const t = await run('verify', '--db', db);
    expect(t.code).toBe(1);
    const lines = t.out.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^MODIFIED +2024-03-03T12:00:00.000000Z +day-3 +the ResponseComplete event/);
    expect(lines[1]).toContain('forged\\x1b[31m');
    expect(t.out).not.toContain('\u001b');
    expect(lines[2]).toBe(
      'FAILED: 2 findings (1 modified, 1 inserted); 4 events from 2024-03-02T12:00:00.000000Z to 2024-03-04T12:00:00.000000Z checked',
    );
    // The result is kept as the store's last verification.
    const instance = await DuckDBInstance.create(db, { access_mode: 'READ_ONLY' });
    const c = await instance.connect();
    const kept = (await c.runAndReadAll(`SELECT record FROM kt_verifications`)).getRows();
    c.closeSync();
    instance.closeSync();
    expect(kept).toHaveLength(1);
    expect(JSON.parse(String(kept[0]![0]))).toMatchObject({ ok: false, by: 'cli', verified: { events: 4 } });
  });

  it('reports signatures made with another key, and a copy of the digest file cut short', async () => {
    const other = path.join(dir, 'other.pub');
    writeFileSync(
      other,
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    );
    const r = await run('verify', '--db', db, '--public-key', other, '--since', '2024-03-05', '-o', 'json');
    expect(r.code).toBe(1);
    const details = (JSON.parse(r.out) as { findings: { kind: string; detail: string }[] }).findings;
    expect(details.every((f) => f.kind === 'chain')).toBe(true);
    expect(details.map((f) => f.detail).join('\n')).toMatch(/not the public key given/);

    const copy = path.join(dir, 'copy.ndjson');
    const text = readFileSync(`${db}.digests.ndjson`, 'utf8');
    writeFileSync(copy, text.split('\n').slice(0, 2).join('\n') + '\n');
    const cut = await run('verify', '--db', db, '--digests', copy, '--since', '2024-03-05', '-o', 'json');
    expect(cut.code).toBe(1);
    expect(cut.out).toMatch(/missing from .*copy\.ndjson \(cut short/);
  });

  it('exits 2 on bad usage and 3 when the store cannot be read', async () => {
    expect((await run('verify', '--db', db, '-o', 'yaml')).code).toBe(2);
    expect((await run('verify', '--db', db, '--since', 'yesterday-ish')).code).toBe(2);
    expect((await run('verify', '--bundle', 'x.tar.gz', '--since', '1h')).code).toBe(2);
    const missing = await run('verify', '--db', path.join(dir, 'none.duckdb'), '--no-record');
    expect(missing.code).toBe(3);
  });
});
