import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryQuarantine } from '../../ingest/quarantine.js';
import { makeEvent } from '../../test-support/events.js';
import { FileSource } from './file-source.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'kt-tail-'));
  dirs.push(d);
  return d;
}

let seq = 0;
function line(id?: string): { id: string; text: string } {
  const auditID = id ?? `ev-${++seq}`;
  return { id: auditID, text: `${JSON.stringify(makeEvent({ auditID }))}\n` };
}

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let rotations = 0;
function backupName(file: string): string {
  // The API server's naming: NAME-YYYY-MM-DDTHH-MM-SS.mmm.EXT, in rotation order.
  const t = new Date(Date.UTC(2026, 0, 1) + ++rotations * 1000).toISOString().replace(/:/g, '-');
  return file.replace(/\.log$/, `-${t.slice(0, 23)}.log`);
}

class Harness {
  readonly dir = tempDir();
  readonly file = path.join(this.dir, 'audit.log');
  readonly checkpoint = path.join(this.dir, 'state', 'ckpt.json');
  readonly delivered: string[] = [];
  readonly quarantine = createMemoryQuarantine();
  source: FileSource | undefined;
  /** While set, the sink waits for it before storing (a slow store). */
  hold: Promise<void> | undefined;

  start(startAt: 'end' | 'beginning' = 'beginning'): void {
    this.source = new FileSource({
      path: this.file,
      cluster: 'c1',
      startAt,
      checkpointFile: this.checkpoint,
      sink: async (records) => {
        if (this.hold) await this.hold;
        for (const r of records) this.delivered.push(r.event.auditID);
      },
      quarantine: this.quarantine,
      pollMs: 5,
      checkpointEveryMs: 0,
      ...(process.env.DEBUG_TAIL
        ? { log: (l: string, m: string, f?: object) => console.log(l, m, JSON.stringify(f)) }
        : {}),
    });
    this.source.start();
  }

  async stop(): Promise<void> {
    await this.source?.stop();
    this.source = undefined;
  }

  /** Starts, reads one line written to the file, and stops: a source with a checkpoint to resume from. */
  async readOneLineThenStop(): Promise<{ id: string; text: string }> {
    this.start();
    const a = line();
    appendFileSync(this.file, a.text);
    await waitFor(() => this.has([a.id]), 'the first line');
    await this.stop();
    return a;
  }

  has(ids: Iterable<string>): boolean {
    const got = new Set(this.delivered);
    for (const id of ids) if (!got.has(id)) return false;
    return true;
  }
}

describe('file source', () => {
  it('reads a partial last line only once it is complete', async () => {
    const h = new Harness();
    const a = line();
    appendFileSync(h.file, a.text);
    h.start();
    await waitFor(() => h.has([a.id]), 'first line');
    const b = line();
    appendFileSync(h.file, b.text.slice(0, 40));
    await new Promise((r) => setTimeout(r, 60));
    expect(h.delivered).toEqual([a.id]);
    expect(h.quarantine.count).toBe(0);
    appendFileSync(h.file, b.text.slice(40));
    await waitFor(() => h.has([b.id]), 'completed line');
    await h.stop();
    expect(h.delivered).toEqual([a.id, b.id]);
  });

  it('starts at the end when asked, after the last complete line', async () => {
    const h = new Harness();
    const a = line();
    const b = line();
    appendFileSync(h.file, a.text + b.text.slice(0, 30));
    h.start('end');
    await new Promise((r) => setTimeout(r, 40));
    appendFileSync(h.file, b.text.slice(30));
    await waitFor(() => h.has([b.id]), 'line completed after start');
    await h.stop();
    expect(h.delivered).toEqual([b.id]);
  });

  it('reads a file whole when it and its folder appear after the start, even when starting at the end', async () => {
    const h = new Harness();
    const nested = path.join(h.dir, 'later', 'audit', 'audit.log');
    (h as { file: string }).file = nested;
    h.start('end');
    await new Promise((r) => setTimeout(r, 40));
    const a = line();
    const b = line();
    mkdirSync(path.dirname(nested), { recursive: true });
    appendFileSync(nested, a.text + b.text);
    await waitFor(() => h.has([a.id, b.id]), 'lines of a file that appeared later');
    await h.stop();
    expect(h.delivered).toEqual([a.id, b.id]);
  });

  it('sets aside bad lines with file and line number and keeps reading', async () => {
    const h = new Harness();
    const a = line();
    const b = line();
    appendFileSync(h.file, `${a.text}{not json\n{"kind":"Pod"}\n${b.text}`);
    h.start();
    await waitFor(() => h.has([a.id, b.id]), 'good lines');
    await h.stop();
    expect(h.quarantine.all.map((q) => [q.file, q.line])).toEqual([
      [h.file, 2],
      [h.file, 3],
    ]);
  });

  it('follows rename rotation, reading what was written to the old file before the switch', async () => {
    const h = new Harness();
    h.start();
    const a = line();
    appendFileSync(h.file, a.text);
    await waitFor(() => h.has([a.id]), 'a');
    const b = line();
    appendFileSync(h.file, b.text);
    renameSync(h.file, backupName(h.file));
    const c = line();
    appendFileSync(h.file, c.text);
    await waitFor(() => h.has([b.id, c.id]), 'b and c');
    await h.stop();
    expect(h.delivered).toEqual([a.id, b.id, c.id]);
  });

  it('resumes from its checkpoint after a restart, finding its file among gzipped backups', async () => {
    const h = new Harness();
    const a = await h.readOneLineThenStop();
    // While stopped: more lines, two rotations (the first backup gzipped), more lines.
    const b = line();
    appendFileSync(h.file, b.text);
    const first = backupName(h.file);
    renameSync(h.file, first);
    execFileSync('gzip', [first]);
    const c = line();
    appendFileSync(h.file, c.text);
    renameSync(h.file, backupName(h.file));
    const d = line();
    appendFileSync(h.file, d.text);
    h.start();
    await waitFor(() => h.has([b.id, c.id, d.id]), 'b, c, d');
    await h.stop();
    expect(h.delivered).toEqual([a.id, b.id, c.id, d.id]);
  });

  /**
   * Stops a source after it has read line a, then rotates its file three times the API server's way
   * (05, 06, 07) with one line each, gzips 06 after 07 was written (so 06.gz is the newest file on disk, as
   * when the compression runs later and writes a new file) and writes one line to the new live file.
   */
  function rotatedWhileStopped(h: Harness) {
    const name = (hh: string) => path.join(h.dir, `audit-2026-01-01T${hh}-00-00.000.log`);
    const [b, c, d, e] = [line(), line(), line(), line()];
    appendFileSync(h.file, b.text);
    renameSync(h.file, name('05'));
    appendFileSync(h.file, c.text);
    renameSync(h.file, name('06'));
    appendFileSync(h.file, d.text);
    renameSync(h.file, name('07'));
    execFileSync('gzip', [name('06')]);
    const t = Date.now() / 1000 - 60;
    utimesSync(name('05'), t, t);
    utimesSync(name('07'), t + 2, t + 2);
    utimesSync(`${name('06')}.gz`, t + 3, t + 3);
    appendFileSync(h.file, e.text);
    const unread = [`${name('06')}.gz`, name('07'), h.file].reduce((n, f) => n + statSync(f).size, 0);
    return { ids: [b.id, c.id, d.id, e.id], unread };
  }

  it('reads rotated backups oldest first by the time in their names, .gz or not', async () => {
    const h = new Harness();
    const a = await h.readOneLineThenStop();
    const { ids } = rotatedWhileStopped(h);
    h.start();
    await waitFor(() => h.has(ids), 'lines of the backups and the live file');
    await h.stop();
    expect(h.delivered).toEqual([a.id, ...ids]);
  });

  it('reads on from the original when a gzipped backup is still being written', async () => {
    const h = new Harness();
    const a = await h.readOneLineThenStop();
    const rest = Array.from({ length: 200 }, () => line());
    for (const l of rest) appendFileSync(h.file, l.text);
    const backup = backupName(h.file);
    renameSync(h.file, backup);
    // gzip has written the first part of the .gz and not yet removed the original.
    const whole = gzipSync(readFileSync(backup));
    writeFileSync(`${backup}.gz`, whole.subarray(0, Math.floor(whole.length / 2)));
    appendFileSync(h.file, '');
    h.start();
    await waitFor(() => h.has(rest.map((l) => l.id)), 'every line of the backup');
    await h.stop();
    expect(h.delivered).toEqual([a.id, ...rest.map((l) => l.id)]);
  });

  it('counts every unread backup in the lag, gzipped ones included', async () => {
    const h = new Harness();
    await h.readOneLineThenStop();
    const { ids, unread } = rotatedWhileStopped(h);
    let release!: () => void;
    h.hold = new Promise((r) => (release = r));
    h.start();
    // The store is slow: the source is stuck on the first backup with two backups and the file to go.
    await waitFor(() => (h.source?.lagBytes ?? 0) > 0, 'lag reported');
    await new Promise((r) => setTimeout(r, 30));
    expect(h.source!.lagBytes).toBeGreaterThanOrEqual(unread);
    h.hold = undefined;
    release();
    await waitFor(() => h.has(ids), 'all lines');
    await waitFor(() => h.source?.lagBytes === 0, 'lag back to 0');
    await h.stop();
  });

  it('reads the rest of a copy-truncated file from its copy', async () => {
    const h = new Harness();
    const a = await h.readOneLineThenStop();
    const b = line();
    appendFileSync(h.file, b.text);
    h.start();
    await waitFor(() => h.has([b.id]), 'b');
    const c = line();
    appendFileSync(h.file, c.text);
    // Copy and truncate faster than the source polls.
    copyFileSync(h.file, `${h.file}.1`);
    truncateSync(h.file, 0);
    const d = line();
    appendFileSync(h.file, d.text);
    await waitFor(() => h.has([c.id, d.id]), 'c and d');
    await h.stop();
    expect(new Set(h.delivered)).toEqual(new Set([a.id, b.id, c.id, d.id]));
  });

  it('takes nothing of the rewritten file when it is copy-truncated just after being opened', async () => {
    // The copy-truncate lands between the source's check of the file's start and its read: what it
    // reads then belongs to the new content, and the unread lines are only in the copy.
    for (let round = 0; round < 20; round++) {
      const h = new Harness();
      const old = [line(), line(), line()];
      for (const l of old) appendFileSync(h.file, l.text);
      h.start();
      while (h.source?.following === undefined) await new Promise((r) => setImmediate(r));
      copyFileSync(h.file, `${h.file}.1`);
      truncateSync(h.file, 0);
      const fresh = [line(), line()];
      for (const l of fresh) appendFileSync(h.file, l.text);
      const all = [...old, ...fresh].map((l) => l.id);
      await waitFor(() => h.has(all), `every line (round ${round})`).finally(() => h.stop());
    }
  });

  it('skips an oversized line and reports it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'audit.log');
    const delivered: string[] = [];
    const quarantine = createMemoryQuarantine();
    const src = new FileSource({
      path: file,
      cluster: 'c',
      startAt: 'beginning',
      checkpointFile: path.join(dir, 'ck.json'),
      sink: async (rs) => void delivered.push(...rs.map((r) => r.event.auditID)),
      quarantine,
      pollMs: 5,
      maxRecordBytes: 2000,
    });
    const a = line();
    const big = line();
    const c = line();
    appendFileSync(file, a.text + big.text.replace('"verb"', `"pad":"${'x'.repeat(5000)}","verb"`) + c.text);
    src.start();
    await waitFor(() => delivered.length >= 2, 'good lines');
    await src.stop();
    expect(delivered).toEqual([a.id, c.id]);
    expect(quarantine.all[0]?.line).toBe(2);
    expect(quarantine.all[0]?.reason).toMatch(/larger than the maximum/);
  });

  it('does not move past events whose store write failed', async () => {
    const h = new Harness();
    let fail = true;
    const got: string[] = [];
    const src = new FileSource({
      path: h.file,
      cluster: 'c',
      startAt: 'beginning',
      checkpointFile: h.checkpoint,
      sink: async (rs) => {
        if (fail) {
          fail = false;
          throw new Error('store down');
        }
        got.push(...rs.map((r) => r.event.auditID));
      },
      quarantine: h.quarantine,
      pollMs: 5,
    });
    const a = line();
    appendFileSync(h.file, a.text);
    src.start();
    await waitFor(() => got.includes(a.id), 'retry after failure', 5000);
    await src.stop();
    expect(got).toEqual([a.id]);
  });

  // Model-based: random sequences of writes, rotations, copy-truncates, deletions and restarts (clean,
  // or as after a crash: with an older checkpoint). Every line written is delivered at least once.
  it('loses nothing over random sequences of file operations', async () => {
    type Op =
      | { op: 'write'; n: number; split: boolean }
      | { op: 'rotate'; gzip: boolean }
      | { op: 'copytruncate' }
      | { op: 'delete' }
      | { op: 'restart'; crash: boolean; whileStopped: number };
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('write' as const),
          n: fc.integer({ min: 1, max: 20 }),
          split: fc.boolean(),
        }),
      },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('rotate' as const), gzip: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('copytruncate' as const) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const) }) },
      {
        weight: 2,
        arbitrary: fc.record({
          op: fc.constant('restart' as const),
          crash: fc.boolean(),
          whileStopped: fc.integer({ min: 0, max: 2 }),
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
        const h = new Harness();
        const written: string[] = [];
        let copies = 0;
        const write = (n: number, split: boolean) => {
          for (let i = 0; i < n; i++) {
            const l = line();
            written.push(l.id);
            if (split && i === n - 1) {
              appendFileSync(h.file, l.text.slice(0, 25));
              appendFileSync(h.file, l.text.slice(25));
            } else appendFileSync(h.file, l.text);
          }
        };
        const rotate = (gzip: boolean) => {
          if (!existsSync(h.file)) return;
          const b = backupName(h.file);
          renameSync(h.file, b);
          if (gzip) execFileSync('gzip', [b]);
        };
        // The source knows the file from the start (backups of a file it never saw are not its own).
        write(1, false);
        h.start();
        try {
          await waitFor(() => h.has(written), 'first line');
          for (const o of ops) {
            if (o.op === 'write') write(o.n, o.split);
            else if (o.op === 'rotate') rotate(o.gzip);
            else if (o.op === 'copytruncate') {
              if (existsSync(h.file)) {
                // A file is copy-truncated after it has been in use for a while: the source has opened it.
                const ino = statSync(h.file).ino;
                await waitFor(() => h.source?.following?.ino === ino, 'source following the file');
                copyFileSync(h.file, `${h.file}.${++copies}`);
                truncateSync(h.file, 0);
              }
            } else if (o.op === 'delete') {
              // Deleting a file loses what was not read yet: the model deletes only once it was read.
              await waitFor(() => h.has(written), 'catch-up before delete');
              rmSync(h.file, { force: true });
            } else {
              const saved = existsSync(h.checkpoint) ? path.join(h.dir, 'older.json') : undefined;
              if (o.crash && saved) copyFileSync(h.checkpoint, saved);
              await h.stop();
              if (o.crash && saved) copyFileSync(saved, h.checkpoint);
              for (let i = 0; i < o.whileStopped; i++) {
                write(2, false);
                rotate(i % 2 === 0);
              }
              h.start();
            }
          }
          await waitFor(() => h.has(written), 'all written lines').catch((err: Error) => {
            const got = new Set(h.delivered);
            throw new Error(`${err.message}: missing ${written.filter((id) => !got.has(id)).join(' ')}`);
          });
        } finally {
          await h.stop();
        }
        expect(h.quarantine.count).toBe(0);
      }),
      {
        numRuns: 25,
        ...(process.env.FC_SEED
          ? { seed: Number(process.env.FC_SEED), path: process.env.FC_PATH, endOnFailure: true }
          : {}),
      },
    );
  }, 120_000);
});
