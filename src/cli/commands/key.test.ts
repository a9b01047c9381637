// `kubetrail key create` and `key rotate` in process on real DuckDB files, and --key-file on the commands
// that read the store: a store encrypted on import answers with its key, refuses without it or with
// another one, and after a rotation answers with the new key only.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../test-support/events.js';
import { runCli } from '../../test-support/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const log = path.join(dir, 'audit.log');
writeFileSync(
  log,
  Array.from({ length: 30 }, (_, i) =>
    JSON.stringify(makeEvent({ auditID: `k-${i}`, userAgent: i % 3 ? 'kubectl' : 'secret-agent' })),
  ).join('\n'),
);

const ids = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { auditID: string }).auditID)
    .sort();

describe('kubetrail key', () => {
  it('creates a data key with mode 0600, never over an existing file', async () => {
    const file = path.join(dir, 'made.key');
    const made = await runCli(['key', 'create', '--out', file]);
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/^data key [0-9a-f]{16} written to /);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, 'utf8');
    const again = await runCli(['key', 'create', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.err).toContain('KT_OUTPUT_EXISTS');
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('encrypts on import, reads with --key-file, and rotates to a new key', async () => {
    const [old, next] = [path.join(dir, 'old.key'), path.join(dir, 'new.key')];
    await runCli(['key', 'create', '--out', old]);
    await runCli(['key', 'create', '--out', next]);
    const db = path.join(dir, 'sealed.duckdb');
    expect((await runCli(['import', log, '--db', db, '--key-file', old])).code).toBe(0);
    const q = (...extra: string[]) =>
      runCli(['query', 'ua:secret-agent', '--db', db, '-o', 'ndjson', '--limit', '100', ...extra]);
    const want = ['k-0', 'k-12', 'k-15', 'k-18', 'k-21', 'k-24', 'k-27', 'k-3', 'k-6', 'k-9'];
    expect(ids((await q('--key-file', old)).out)).toEqual(want);
    const explained = await q('--key-file', old, '--explain');
    expect(explained.out).toContain('store: duckdb (encrypted)');
    expect(explained.out).toContain('post-filtered in JS: ua:secret-agent');
    const none = await q();
    expect(none.code).toBe(2);
    expect(none.err).toContain('KT_KEY_REQUIRED');
    expect((await q('--key-file', next)).err).toContain('KT_KEY_MISMATCH');

    const rotated = await runCli(['key', 'rotate', '--db', db, '--key-file', old, '--new-key-file', next]);
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/^re-encrypted 30 events with key/);
    expect(ids((await q('--key-file', next)).out)).toEqual(want);
    expect((await q('--key-file', old)).err).toContain('KT_KEY_MISMATCH');
    // The key may come from the environment too.
    process.env.KUBETRAIL_KEY_FILE = next;
    try {
      expect(ids((await q()).out)).toEqual(want);
    } finally {
      delete process.env.KUBETRAIL_KEY_FILE;
    }
  });

  it('refuses a key on a plain store with events, and encrypts it through rotate', async () => {
    const key = path.join(dir, 'plain-to-sealed.key');
    await runCli(['key', 'create', '--out', key]);
    const db = path.join(dir, 'plain.duckdb');
    expect((await runCli(['import', log, '--db', db])).code).toBe(0);
    const refused = await runCli(['import', log, '--db', db, '--key-file', key]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('KT_KEY_UNEXPECTED');
    expect(refused.err).toContain('kubetrail key rotate');
    expect((await runCli(['key', 'rotate', '--db', db, '--new-key-file', key])).code).toBe(0);
    const stats = await runCli(['stats', '--by', 'ua', '--db', db, '--key-file', key, '-o', 'json']);
    expect(stats.code).toBe(0);
    expect((JSON.parse(stats.out) as { values: unknown[] }).values).toContainEqual({
      value: 'secret-agent',
      count: 10,
    });
  });

  it('refuses a key file others may read', async () => {
    const key = path.join(dir, 'open.key');
    await runCli(['key', 'create', '--out', key]);
    chmodSync(key, 0o644);
    const r = await runCli(['query', '*', '--db', path.join(dir, 'sealed.duckdb'), '--key-file', key]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('KT_KEY_FILE');
    expect(r.err).toContain('chmod 600');
  });
});

describe('kubetrail key rotate and tamper evidence', () => {
  it('leaves a store that verifies clean without the key, and refuses a store that does not verify', async () => {
    const [k1, k2, k3] = ['r1.key', 'r2.key', 'r3.key'].map((f) => path.join(dir, f));
    for (const k of [k1, k2, k3]) await runCli(['key', 'create', '--out', k!]);
    // A quote in the path: the file is rewritten through DuckDB's ATTACH, which takes no parameters.
    const db = path.join(dir, "it's rotated.duckdb");
    expect((await runCli(['import', log, '--db', db])).code).toBe(0);
    expect(readFileSync(db).includes('secret-agent')).toBe(true);
    const verify = () => runCli(['verify', '--db', db, '-o', 'json', '--no-record']);
    expect((await verify()).code).toBe(0);
    // Plain to encrypted, then to another key: the rows written again and the removal of the old ones
    // are signed digest records (a rekey record), not findings; verifying needs no data key.
    const encrypted = await runCli(['key', 'rotate', '--new-key-file', k1!, '--db', db]);
    expect(encrypted.code).toBe(0);
    expect(encrypted.err).toContain('rewrote');
    // The plain rows it replaced left nothing in the file's free space.
    expect(readFileSync(db).includes('secret-agent')).toBe(false);
    expect((await verify()).code).toBe(0);
    expect((await runCli(['key', 'rotate', '--key-file', k1!, '--new-key-file', k2!, '--db', db])).code).toBe(
      0,
    );
    const clean = await verify();
    expect(clean.code).toBe(0);
    expect((JSON.parse(clean.out) as { verified: { events: number } }).verified.events).toBe(30);

    // A row removed behind the store's back: the rotation would hide it, so it refuses unless forced.
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const instance = await DuckDBInstance.create(db);
    const conn = await instance.connect();
    await conn.run(`DELETE FROM events WHERE audit_id = 'k-7'`);
    conn.closeSync();
    instance.closeSync();
    const found = await verify();
    expect(found.code).toBe(1);
    expect(found.out).toContain('"kind":"deleted"');
    const refused = await runCli(['key', 'rotate', '--key-file', k2!, '--new-key-file', k3!, '--db', db]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('KT_INTEGRITY_FINDINGS');
    expect(refused.err).toContain('k-7');
    const forced = await runCli([
      'key',
      'rotate',
      '--key-file',
      k2!,
      '--new-key-file',
      k3!,
      '--db',
      db,
      '--force',
    ]);
    expect(forced.code).toBe(0);
  });
});
