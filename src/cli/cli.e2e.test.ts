// End-to-end tests of the kubetrail command on real files: the built CLI (bin/kubetrail.js) run as a
// child process against the shared corpus and a DuckDB file in a temporary directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD, CORPUS, available } from '../test-support/requirements.js';

const root = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const corpus = CORPUS.path;
const bin = path.join(root, 'bin/kubetrail.js');
const ready = available(CORPUS, BUILD);

function run(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    input: opts.input,
    encoding: 'utf8',
    env: { ...process.env, COLUMNS: '200', CI: '1', ...opts.env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe.skipIf(!ready)(
  'kubetrail CLI on the shared corpus (skipped without ../shared/corpus or a build)',
  () => {
    let dir: string;
    let db: string;
    const demo = path.join(corpus, 'audit2rbac/demo.log');
    const falcoFiles = () =>
      ['create_nginx_pod_privileged.json', 'exec_pod.json', 'create_secret.json', 'fal_01_003.json'].map(
        (f) => path.join(corpus, 'falco-k8s-audit', f),
      );

    beforeAll(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-e2e-'));
      db = path.join(dir, 'store.duckdb');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('imports a log and reports what it read and stored', () => {
      const r = run(['import', demo, '--db', db, '-o', 'json']);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const s = JSON.parse(r.out);
      expect(s).toMatchObject({ read: 37, stored: 37, duplicates: 0, quarantined: 0 });
    });

    it('stores nothing twice when the same log is imported again', () => {
      const r = run(['import', demo, '--db', db, '-o', 'json']);
      expect(JSON.parse(r.out)).toMatchObject({ read: 37, stored: 0, duplicates: 37 });
    });

    it('quarantines records that are not events, with file and line, and goes on', () => {
      const q = path.join(dir, 'bad.jsonl');
      const r = run(['import', ...falcoFiles(), '--db', db, '--quarantine', q, '-o', 'json']);
      expect(r.code).toBe(0);
      const s = JSON.parse(r.out);
      expect(s.quarantined).toBe(1);
      expect(s.stored).toBe(3);
      const bad = JSON.parse(readFileSync(q, 'utf8').trim());
      expect(bad.file).toContain('fal_01_003.json');
      expect(bad.line).toBe(1);
    });

    it('queries the store, newest first, in every format', () => {
      const table = run(['query', 'code:403', '--db', db]);
      expect(table.code).toBe(0);
      expect(table.out.split('\n')[0]).toMatch(/^TIME\s+USER\s+VERB\s+OBJECT\s+CODE/);
      expect(table.out.trim().split('\n')).toHaveLength(12);

      const nd = run(['query', 'code:403', '--db', db, '-o', 'ndjson']);
      const events = nd.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(events).toHaveLength(11);
      const times = events.map((e) => e.stageTimestamp ?? e.timestamp);
      expect([...times].sort().reverse()).toEqual(times);

      const json = JSON.parse(run(['query', 'impersonated:bob', '--db', db, '-o', 'json']).out);
      expect(json.kind).toBe('EventList');
      expect(
        json.items.every(
          (e: { impersonatedUser: { username: string } }) => e.impersonatedUser.username === 'bob',
        ),
      ).toBe(true);

      const csv = run(['query', 'verb:list resource:pods', '--db', db, '-o', 'csv', '--limit', '2']);
      expect(csv.out.split('\n')[0]).toBe(
        '"time","cluster","auditID","stage","level","verb","user","groups","impersonatedUser","sourceIP","userAgent","namespace","resource","subresource","name","apiGroup","code","reason","requestURI","latencyMs","decision"',
      );
      expect(csv.err).toMatch(/showing 2; \d+ events matched/);
    });

    it('answers the same from files as from the store', () => {
      const fromStore = run([
        'query',
        'code>=400 -ns:kube-system',
        '--db',
        db,
        '-o',
        'ndjson',
        '--limit',
        '1000',
      ]);
      const fromFile = run([
        'query',
        '--file',
        demo,
        'code>=400 -ns:kube-system',
        '-o',
        'ndjson',
        '--limit',
        '1000',
      ]);
      expect(fromFile.code).toBe(0);
      const ids = (t: string) =>
        t
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l).auditID)
          .sort();
      expect(ids(fromFile.out)).toEqual(ids(fromStore.out));
      expect(ids(fromFile.out)).toHaveLength(11);
    });

    it('counts by a field, the same from the store as from the file', () => {
      const db2 = path.join(dir, 'only-demo.duckdb');
      expect(run(['import', demo, '--db', db2]).code).toBe(0);
      const r = run(['stats', '--by', 'impersonated', '--db', db2, '-o', 'json']);
      const s = JSON.parse(r.out);
      expect(s.values[0]).toHaveProperty('count');
      expect(s.values.map((v: { value: string }) => v.value)).toContain('bob');
      const f = JSON.parse(run(['stats', '--by', 'impersonated', '--file', demo, '-o', 'json']).out);
      const sortRows = (rows: { value: string; count: number }[]) =>
        [...rows].sort((a, b) => String(a.value).localeCompare(String(b.value)));
      expect(sortRows(f.values)).toEqual(sortRows(s.values));
    });

    it('keeps JSON-path queries working after an event with a lone surrogate escape', () => {
      const db3 = path.join(dir, 'surrogate.duckdb');
      const [first, second] = readFileSync(demo, 'utf8').split('\n');
      const poisoned = JSON.parse(first!) as Record<string, unknown>;
      poisoned.auditID = 'poisoned-1';
      poisoned.requestObject = { kind: 'Poison' };
      // JSON that spells a lone surrogate as an escape, in a value and in a key.
      const text = JSON.stringify(poisoned).replace('"kind":"Poison"', '"kind":"Poison\\ud800","x\\udc00":1');
      const file = path.join(dir, 'surrogate.log');
      writeFileSync(file, `${text}\n${second}\n`);
      expect(run(['import', file, '--db', db3]).code).toBe(0);
      const q = run(['query', 'requestObject.kind:Poison*', '--db', db3, '-o', 'ndjson']);
      expect(q.err).toBe('');
      expect(q.code).toBe(0);
      const found = JSON.parse(q.out.trim()) as { requestObject: Record<string, unknown> };
      expect(found.requestObject).toEqual({ kind: 'Poison\uFFFD', 'x\uFFFD': 1 });
      const s = run(['stats', '--by', 'requestObject.kind', '--db', db3, '-o', 'json']);
      expect(s.code).toBe(0);
      expect(JSON.parse(s.out).values).toContainEqual({ value: 'Poison\uFFFD', count: 1 });
    });

    it('shows one request and fails clearly for an unknown ID', () => {
      const id = JSON.parse(readFileSync(demo, 'utf8').split('\n')[0]!).auditID as string;
      const r = run(['show', id, '--db', db]);
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Audit ID      ${id}`);
      expect(r.out).toContain('system:admin (as bob)');
      const missing = run(['show', 'no-such-id', '--db', db]);
      expect(missing.code).toBe(1);
      expect(missing.err).toContain('KT_NOT_FOUND');
    });

    it('reports a bad filter with its position and a suggestion, exit 2', () => {
      const r = run(['query', 'verb:get usr:alice', '--db', db]);
      expect(r.code).toBe(2);
      expect(r.err).toContain('KT_QUERY_FIELD');
      expect(r.err).toContain('user');
      expect(run(['query', '--db', db, '-o', 'yaml']).code).toBe(2);
      expect(run(['query', '--db', db, '--since', 'yesterday']).err).toContain('KT_TIME_INVALID');
      const negated = run(['query', '-verb:get', '--db', db]);
      expect(negated.code).toBe(2);
      expect(negated.err).toContain("put it after `--` (kubetrail query -- '-verb:get')");
      expect(run(['query', '--db', db, '-o', 'ndjson', '--', '-verb:get']).code).toBe(0);
    });

    it('exits 1 on no match with --fail-if-empty', () => {
      const r = run(['query', 'user:nobody-at-all', '--db', db, '--fail-if-empty']);
      expect(r.code).toBe(1);
      expect(r.out).toBe('');
    });

    it('reads stdin and gzip', () => {
      const r = run(['query', '--file', '-', 'verb:create', '-o', 'ndjson'], {
        input: readFileSync(demo, 'utf8'),
      });
      expect(r.code).toBe(0);
      expect(r.out.trim().split('\n').length).toBeGreaterThan(0);
      const gz = path.join(dir, 'audit.log.gz');
      const zlib = spawnSync('gzip', ['-c', demo]);
      writeFileSync(gz, zlib.stdout);
      const fromGz = run(['query', '--file', gz, '*', '-o', 'ndjson', '--limit', '1000']);
      expect(fromGz.out.trim().split('\n')).toHaveLength(37);
    });
  },
);
