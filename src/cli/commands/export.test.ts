// `kubetrail export`, `verify --bundle`, `key create` and the import of a bundle, in process on real
// DuckDB files: a clean bundle verifies (exit 0), a tampered one fails naming the member (exit 1), a
// missing --bundle is a usage error (exit 2), and the bundle loads into a fresh store.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportCommand } from '../../bundle/command.js';
import { EVENT_CSV_HEADER } from '../../core/csv.js';
import { readTarGz, writeTarGz } from '../../bundle/tar.js';
import { generateEvents } from '../../generate/index.js';
import { openDuckDBStore } from '../../store/duckdb/store.js';
import { runCli } from '../../test-support/cli.js';
import type { Io } from '../common.js';
import { importBundleCommand } from './export.js';

const START = Date.UTC(2026, 2, 10, 9);
const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-export-'));
const db = path.join(dir, 'source.duckdb');
const records = [...generateEvents({ seed: 11, start: START, durationMs: 3_600_000, count: 2000 })].map(
  (event) => ({ cluster: 'prod', event }),
);

beforeAll(async () => {
  const store = await openDuckDBStore(db);
  await store.write(records);
  await store.close();
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('kubetrail export and verify --bundle', () => {
  const key = path.join(dir, 'signer.pem');
  const bundle = path.join(dir, 'evidence.tar.gz');

  it('makes a key, exports, and verifies against the public key', async () => {
    const made = await runCli(['key', 'create', '--ed25519', '--out', key]);
    expect(made.code).toBe(0);
    expect(made.out).toMatch(/fingerprint sha256:[0-9a-f]{64}/);
    expect(readFileSync(key, 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    expect((await runCli(['key', 'create', '--out', key])).code).toBe(2);

    const args = ['--since', '2026-03-10T09:00:00Z', '--until', '2026-03-10T10:00:00Z'];
    const ex = await runCli([
      'export',
      'verb:(create OR patch OR delete)',
      ...args,
      '--db',
      db,
      '--out',
      bundle,
      '--signing-key',
      key,
    ]);
    expect(ex.code, ex.err).toBe(0);
    expect(ex.out).toMatch(/^wrote .*evidence\.tar\.gz: \d+ events, \d+ object histories, 0 alerts/);
    expect((await runCli(['export', '*', '--db', db, '--out', bundle])).code).toBe(2); // never overwritten

    const ok = await runCli(['verify', '--bundle', bundle, '--public-key', `${key}.pub`]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/^OK {4}.*every member matches its SHA-256/);
    const json = JSON.parse((await runCli(['verify', '--bundle', bundle, '-o', 'json'])).out) as {
      ok: boolean;
      manifest: { request: { command: string } };
    };
    expect(json.ok).toBe(true);
    expect(json.manifest.request.command).toBe(
      `kubetrail export --since 2026-03-10T09:00:00.000000Z --until 2026-03-10T10:00:00.000000Z --out ${bundle} 'verb:(create OR patch OR delete)'`,
    );
  });

  it('fails a tampered bundle with exit 1, naming the member', async () => {
    const members: { name: string; data: Buffer; size: number }[] = [];
    await readTarGz(bundle, (name) => {
      const parts: Buffer[] = [];
      return {
        data: (c) => void parts.push(Buffer.from(c)),
        end: () => {
          let data = Buffer.concat(parts);
          // An event slipped in.
          if (name === 'events.ndjson')
            data = Buffer.concat([data, Buffer.from('{"cluster":"prod","event":{}}\n')]);
          members.push({ name, data, size: data.length });
        },
      };
    });
    const tampered = path.join(dir, 'tampered.tar.gz');
    await writeTarGz(tampered, members);
    const r = await runCli(['verify', '--bundle', tampered]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL {2}events\.ndjson: member events\.ndjson does not match the manifest/);

    const wrongKey = path.join(dir, 'other.pem');
    await runCli(['key', 'create', '--out', wrongKey]);
    const other = await runCli(['verify', '--bundle', bundle, '--public-key', `${wrongKey}.pub`]);
    expect(other.code).toBe(1);
    expect(other.out).toMatch(/FAIL {2}signer: the bundle is signed by sha256:\w+, not by the key given/);
  });

  it('is a usage error without a file after --bundle, and an input error for a file that is not a bundle', async () => {
    // Without --bundle, verify checks the store (src/cli/commands/verify.test.ts).
    expect((await runCli(['verify', '--bundle'])).code).toBe(2);
    const junk = path.join(dir, 'junk.gz');
    writeFileSync(junk, 'junk');
    const r = await runCli(['verify', '--bundle', junk]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/KT_BUNDLE_READ/);
  });

  it('imports the bundle into a fresh store, and again without storing anything twice', async () => {
    const fresh = path.join(dir, 'fresh.duckdb');
    let out = '';
    const io: Io = { out: (t) => void (out += t), err: () => undefined, width: 200, interactive: false };
    await importBundleCommand(bundle, { db: fresh, publicKey: `${key}.pub` }, io);
    const stored = Number(/stored +(\d+)/.exec(out)![1]);
    expect(stored).toBeGreaterThan(0);
    out = '';
    await importBundleCommand(bundle, { db: fresh, output: 'json' }, io);
    expect(JSON.parse(out)).toMatchObject({ stored: 0, duplicates: stored });
    const q = await runCli([
      'query',
      'verb:(create OR patch OR delete)',
      '--db',
      fresh,
      '--limit',
      '100000',
      '-o',
      'ndjson',
    ]);
    expect(q.out.trim().split('\n')).toHaveLength(stored);
  });
});

describe('flat exports', () => {
  it('name the command that gives the same result', async () => {
    const since = Date.UTC(2026, 2, 10, 9) * 1000;
    const until = Date.UTC(2026, 2, 10, 10) * 1000;
    const cmd = exportCommand('ndjson', { filter: '-verb:get', since, until });
    expect(cmd).toBe(
      'kubetrail query --since 2026-03-10T09:00:00.000000Z --until 2026-03-10T10:00:00.000000Z --asc --limit 1000000 -o ndjson -- -verb:get > export.ndjson',
    );
    const r = await runCli([
      'query',
      '--db',
      db,
      '--since',
      '2026-03-10T09:00:00.000000Z',
      '--until',
      '2026-03-10T10:00:00.000000Z',
      '--asc',
      '--limit',
      '1000000',
      '-o',
      'csv',
      '--',
      '-verb:get',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.split('\n')[0]).toBe(EVENT_CSV_HEADER.map((h) => `"${h}"`).join(','));
  });
});
