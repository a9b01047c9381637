// The CLI under hostile or awkward input, run in process on real files and a real DuckDB store: filters
// past the language's limits, directories with entries that cannot be read, logs of garbage, output
// piped to a reader that stops early, wide tables in pipes, and setup defaults that match the server.
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../core/event.js';
import { followFile } from './commands/tail.js';
import { stopOnClosedOutput, type Io } from './common.js';
import { formatEvents } from './event-output.js';
import { MAX_FILTER_DEPTH, MAX_JSON_PATH_STEPS } from '../query/syntax/parser.js';
import { runCli } from '../test-support/cli.js';
import { makeEvent } from '../test-support/events.js';
import { available, BUILD, repoRoot } from '../test-support/requirements.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-robust-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ndjson = (...events: object[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

describe('filters past the limits', () => {
  let db: string;
  beforeAll(async () => {
    db = path.join(dir, 'limits.duckdb');
    const log = path.join(dir, 'limits.log');
    writeFileSync(log, ndjson(makeEvent({ verb: 'get' }), makeEvent({ verb: 'delete' })));
    const r = await runCli(['import', log, '--db', db, '-o', 'json']);
    expect(r.code).toBe(0);
  });

  it('refuses 20,000 nested parentheses and 2,000 leading - with KT_QUERY_LIMIT, exit 2, no stack', async () => {
    for (const filter of [
      `${'('.repeat(20_000)}verb:get${')'.repeat(20_000)}`,
      `${'('.repeat(2500)}verb:get${')'.repeat(2500)}`,
      `${'-'.repeat(2000)}verb:get`,
    ]) {
      const r = await runCli(['query', '--db', db, '--', filter]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(/^kubetrail: KT_QUERY_LIMIT: column \d+: the filter /);
      expect(r.err).not.toMatch(/RangeError|KT_INTERNAL|\n\s+at /);
      expect(r.err.length).toBeLessThan(1000);
    }
  });

  it('echoes a hostile filter in an error without its control characters, caret in place', async () => {
    const r = await runCli(['query', '--db', db, 'usr:\u001b[2J\u202e x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('KT_QUERY_FIELD');
    expect(r.err).not.toMatch(/[\u001b\u202e]/);
    const [, shown, caret] = r.err.split('\n');
    expect(shown).toBe('  usr:\uFFFD[2J\uFFFD x');
    expect(caret).toBe('  ^');
  });

  it('answers a filter at the limits from the store (DuckDB keeps within its expression depth)', async () => {
    const half = MAX_FILTER_DEPTH / 2;
    const path63 = `requestObject${'.a'.repeat(MAX_JSON_PATH_STEPS - 1)}`;
    const deep = `${'NOT ('.repeat(half)}verb:delete OR ${path63}:x${')'.repeat(half)}`;
    const r = await runCli(['query', '--db', db, '-o', 'ndjson', '--', deep]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    // 50 negations (even): the same as `verb:delete OR …`.
    expect(
      r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verb),
    ).toEqual(['delete']);
    const flat = Array.from({ length: 499 }, (_, i) => `verb:v${i}`).join(' OR ');
    const f = await runCli(['query', '--db', db, '-o', 'ndjson', `${flat} OR verb:get`]);
    expect(f.code).toBe(0);
    expect(
      f.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verb),
    ).toEqual(['get']);
  });
});

describe('output whose reader goes away', () => {
  it('stops with status 0 and nothing on stderr on EPIPE; reports other write errors with status 3', () => {
    const out = new EventEmitter();
    const err = new EventEmitter();
    const exits: number[] = [];
    const reports: string[] = [];
    stopOnClosedOutput(
      out,
      err,
      (c) => void exits.push(c),
      (t) => void reports.push(t),
    );
    out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(exits).toEqual([0]);
    expect(reports).toEqual([]);
    out.emit('error', Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    expect(exits).toEqual([0, 3]);
    expect(reports).toEqual(['kubetrail: cannot write the output: no space left on device\n']);
    // A closed stderr is not an unhandled error either.
    expect(() => err.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).not.toThrow();
  });

  it.skipIf(!available(BUILD))(
    '`kubetrail query -o ndjson | head -1` exits 0 without a stack trace (the built CLI)',
    async () => {
      const log = path.join(dir, 'many.log');
      writeFileSync(log, ndjson(...Array.from({ length: 3000 }, () => makeEvent())));
      const child = spawn(
        process.execPath,
        [path.join(repoRoot, 'bin/kubetrail.js'), 'query', '--file', log, '-o', 'ndjson', '--limit', '3000'],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1' } },
      );
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const first = await new Promise<string>((resolve) => {
        let got = '';
        child.stdout.on('data', (c: Buffer) => {
          got += c.toString();
          const nl = got.indexOf('\n');
          // Like `head -1`: read one line, then close the pipe while the CLI is still writing.
          if (nl >= 0) {
            child.stdout.destroy();
            resolve(got.slice(0, nl));
          }
        });
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      expect(JSON.parse(first).kind).toBe('Event');
      expect(stderr).toBe('');
      expect(code).toBe(0);
    },
  );
});

describe('-o wide', () => {
  const ua = `Mozilla/5.0 (X11; Linux x86_64) ${'AppleWebKit/537.36 (KHTML, like Gecko) '.repeat(3)}kubectl/v1.30.0`;
  const ip = '2001:db8:85a3:1234:5678:8a2e:370:7334';

  it('keeps addresses and user agents whole when piped, and fits a terminal', async () => {
    const log = path.join(dir, 'wide.log');
    const event = makeEvent({ userAgent: ua, sourceIPs: [ip] });
    writeFileSync(log, ndjson(event));
    const r = await runCli(['query', '--file', log, '-o', 'wide'], 120);
    expect(r.code).toBe(0);
    expect(r.out).toContain(ua);
    expect(r.out).toContain(ip);
    expect(r.out).not.toContain('…');
    const onTerminal = formatEvents([{ cluster: 'default', event }], 'wide', 120, true);
    expect(onTerminal).not.toContain(ua);
    expect(onTerminal).toContain('…');
  });
});

describe('import of inputs that are partly or wholly bad', () => {
  it('skips a dangling link, a link loop and a subdirectory in a log directory, imports the rest, exits 2', async () => {
    const logs = path.join(dir, 'import-dir');
    mkdirSync(logs);
    writeFileSync(
      path.join(logs, 'a.log'),
      ndjson(makeEvent({ verb: 'create' }), makeEvent({ verb: 'patch' })),
    );
    symlinkSync(path.join(dir, 'nowhere.log'), path.join(logs, 'gone.log'));
    symlinkSync(path.join(logs, 'loop.log'), path.join(logs, 'loop.log'));
    mkdirSync(path.join(logs, 'old.log'));
    const db = path.join(dir, 'import-dir.duckdb');
    const r = await runCli(['import', logs, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^stored {7}2$/m);
    expect(r.out).toMatch(/^skipped {6}3 inputs that could not be read$/m);
    expect(r.err).toContain(
      `skipped: ${path.join(logs, 'gone.log')}: a symbolic link to a file that does not exist\n`,
    );
    expect(r.err).toContain(`skipped: ${path.join(logs, 'loop.log')}: a loop of symbolic links\n`);
    expect(r.err).toContain(`skipped: ${path.join(logs, 'old.log')}: a directory, not a log file\n`);
    expect(r.err).toMatch(
      /kubetrail: KT_INPUT_READ: 3 inputs could not be read and were skipped \(listed above\); 2 new events/,
    );
    expect(r.err).not.toMatch(/KT_INTERNAL|\n\s+at /);
    const q = await runCli(['query', '--db', db, '-o', 'ndjson', '--asc']);
    expect(
      q.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).verb),
    ).toEqual(['create', 'patch']);
    const json = await runCli(['import', logs, '--db', db, '-o', 'json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.out)).toMatchObject({ read: 2, stored: 0, duplicates: 2 });
    expect(JSON.parse(json.out).skipped).toHaveLength(3);
  });

  it('exits 2 with KT_EVENT_INVALID when no record is an event; control bytes are shown escaped', async () => {
    const name = path.join(dir, 'bad\u001b[31m.log');
    writeFileSync(name, '\u001b[2J\u001b[31mnot json\n{"kind":"Nothing"}\n\u009b31m\n');
    const db = path.join(dir, 'garbage.duckdb');
    const r = await runCli(['import', name, '--db', db, '--quarantine', path.join(dir, 'garbage.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.out).toMatch(/^stored {7}0$/m);
    expect(r.out).toMatch(/^quarantined {2}3 /m);
    expect(r.err).toMatch(
      /kubetrail: KT_EVENT_INVALID: no events imported: none of the 3 records read is an audit event/,
    );
    expect(r.err).toContain('quarantined: ');
    expect(r.err).toContain('bad\\x1b[31m.log:1');
    expect(r.err).toContain('\\x1b[2J');
    // No raw escape or C1 control reaches the terminal.
    expect(r.err).not.toMatch(/[\u001b\u009b]/);
    expect(r.out).not.toMatch(/[\u001b\u009b]/);
  });

  it('exits 0 when some records were events and others were set aside, and says so', async () => {
    const mixed = path.join(dir, 'mixed.log');
    writeFileSync(mixed, `${ndjson(makeEvent())}garbage\n`);
    const r = await runCli([
      'import',
      mixed,
      '--db',
      path.join(dir, 'mixed.duckdb'),
      '--quarantine',
      path.join(dir, 'mixed.jsonl'),
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^stored {7}1$/m);
    expect(r.out).toMatch(/^quarantined {2}1 → /m);
    expect(r.err).toMatch(/^quarantined: .*mixed\.log:2/m);
  });
});

describe('tail -f on a file that does not exist yet', () => {
  async function until(check: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
    expect(check()).toBe(true);
  }

  it('says so on stderr, waits, then reads the file from its start when it appears', async () => {
    const file = path.join(dir, 'later', 'audit.log');
    let err = '';
    const io: Io = { out: () => undefined, err: (t) => void (err += t), width: 120, interactive: false };
    const seen: EventRecord[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    const following = followFile(
      { file, filter: 'verb:delete', fromStart: false, stop: stopped, pollMs: 20 },
      io,
      (r) => void seen.push(r),
    );
    await until(() => err.includes('does not exist yet'));
    expect(err).toBe(`kubetrail: ${file} does not exist yet; waiting for it to appear (Ctrl-C to stop)\n`);
    mkdirSync(path.dirname(file));
    writeFileSync(file, ndjson(makeEvent({ verb: 'get' }), makeEvent({ verb: 'delete' })));
    await until(() => seen.length === 1 && err.includes('appeared'));
    expect(seen[0]!.event.verb).toBe('delete');
    expect(err).toContain(`kubetrail: ${file} appeared; following it\n`);
    stop();
    await following;
  });

  it('refuses a directory', async () => {
    const io: Io = { out: () => undefined, err: () => undefined, width: 120, interactive: false };
    await expect(
      followFile({ file: dir, filter: '*', fromStart: false, stop: Promise.resolve() }, io, () => undefined),
    ).rejects.toMatchObject({ code: 'KT_INPUT_READ' });
  });
});

describe('setup webhook', () => {
  it('points at where `kubetrail serve` listens by default', async () => {
    const r = await runCli(['setup', 'webhook']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('server: http://127.0.0.1:7480/webhook');
    expect(r.out).toContain('WARNING: plain http');
  });

  it('refuses a token the server would refuse, by the server rule', async () => {
    for (const token of ['abc', '0123456789abcde', '0123456789 abcdef']) {
      const r = await runCli(['setup', 'webhook', '--token', token]);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(
        /^kubetrail: KT_USAGE: --token: the token (must be at least 16 characters|must not contain white space); kubetrail serve would refuse it/,
      );
    }
    const ok = await runCli(['setup', 'webhook', '--token', '0123456789abcdef']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('token: 0123456789abcdef');
  });
});
