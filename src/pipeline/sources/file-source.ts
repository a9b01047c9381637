// The live file source: follows one audit log file the way the API server's log backend writes it,
// across rotation by rename (backups named NAME-TIMESTAMP.EXT, gzipped later or not), copy-truncate
// rotation, deletion and re-creation. Files are recognized by identity (device, inode and a fingerprint
// of their first bytes), not by name. A partial last line is read only once it is complete. The position
// is checkpointed crash-safely, and only after the events before it are durably stored; after a restart
// the source resumes there, finding its file among the rotated backups if it was rotated meanwhile.
//
// One piece, though long: resuming, reading backups, following the live file and handling truncation are
// the states of one machine that share the followed file's identity, the committed position and the
// in-flight deliveries; each rule about losing nothing spans several of them, and the model-based test
// holds them together. What stands alone is apart: backup naming and order (./backup-order.ts), the line
// splitter (src/ingest/line-splitter.ts), the decoder and the state file (src/core/state-file.ts).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { EventRecord } from '../../core/event.js';
import { decodeLine } from '../../ingest/decode.js';
import type { Quarantine } from '../../ingest/quarantine.js';
import type { Deliver, Source } from '../contracts.js';
import { isBackupOf, orderBackups } from './backup-order.js';
import { readJsonState, writeFileAtomic } from '../../core/state-file.js';
import { LineSplitter } from '../../ingest/line-splitter.js';

/** Any line may start with a byte order mark (a file re-created by a writer that adds one). */
const DROP_BOM = { dropBom: true };

/** Bytes of a file's start that identify it. */
const FP_MAX = 1024;
const READ_BYTES = 1 << 20;

/** How often, and after how long, a .gz backup that ends early is read on (gzip may still be writing it). */
const GZIP_RETRIES = 5;
const GZIP_RETRY_MS = 200;

export interface FilePosition {
  dev: number;
  ino: number;
  /** sha256 of the first fpLen bytes (decompressed for .gz backups). */
  fp: string;
  fpLen: number;
  /** Byte offset just past the last line whose events are stored. */
  offset: number;
  line: number;
  /** When the position was saved (epoch ms). */
  savedAt?: number;
}

export interface FileSourceOptions {
  path: string;
  cluster: string;
  /** Where to start when there is no checkpoint: the end (new events only) or the beginning. */
  startAt: 'end' | 'beginning';
  checkpointFile: string;
  /** Hands events on; resolves once they are durably stored (then the position may be checkpointed). */
  sink: Deliver;
  quarantine: Quarantine;
  pollMs?: number;
  maxRecordBytes?: number;
  /** Shortest time between two checkpoint writes while data keeps flowing (ms). */
  checkpointEveryMs?: number;
  log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

/** A chunk's events handed to the sink and not yet known to be stored. */
interface Delivery {
  start: { offset: number; line: number };
  end: { offset: number; line: number };
  state: 'pending' | 'ok' | 'failed';
  error?: unknown;
  promise: Promise<void>;
}

/** Chunks read ahead while earlier ones are being stored (each up to READ_BYTES). */
const MAX_IN_FLIGHT = 8;

interface Current {
  /** Deliveries in read order; the position checkpointed is the end of the last stored one. */
  inflight: Delivery[];
  committed: { offset: number; line: number };
  fh: FileHandle;
  dev: number;
  ino: number;
  splitter: LineSplitter;
  fp: string;
  fpLen: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function headOf(fh: FileHandle, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/** The first `len` decompressed bytes of a gzip file (fewer if it is shorter or corrupt). */
async function gzipHead(file: string, len: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  const stream = createReadStream(file).pipe(createGunzip());
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      parts.push(c);
      got += c.length;
      if (got >= len) break;
    }
  } catch {
    // A corrupt or still-being-written .gz: what was decompressed is all we know of it.
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, len);
}

/** Identity of a file by its first bytes (decompressed for .gz). */
async function identityOf(file: string): Promise<{ fp: string; fpLen: number }> {
  let head: Buffer;
  if (file.endsWith('.gz')) head = await gzipHead(file, FP_MAX);
  else {
    const fh = await open(file, 'r');
    try {
      head = await headOf(fh, FP_MAX);
    } finally {
      await fh.close();
    }
  }
  return { fp: sha(head), fpLen: head.length };
}

export class FileSource implements Source {
  private cur: Current | undefined;
  private stopped = false;
  private stopWake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private lastCheckpoint = 0;
  private checkpointDirty = false;
  private firstOpen = true;
  /** Identities (fingerprints) of files read to their end in this run: never read again. */
  private readonly done = new Set<string>();
  private readonly identities = new Map<string, { fp: string; fpLen: number }>();
  /** When the file before the current one was opened: backups written since may hold unseen events. */
  private lostSince: number | undefined;
  private openedAt = 0;
  readonly name: string;
  /** Bytes of the live file not yet stored. */
  private liveLag = 0;
  /**
   * Bytes of the rotated backups still to be read, by path: what is left after the last stored line for
   * a plain backup; for a gzipped one, the compressed bytes the decompressor has not consumed yet. A
   * backup counts at least 1 byte until its last line is stored.
   */
  private readonly backlog = new Map<string, number>();
  private lagAt = 0;
  events = 0;

  constructor(private readonly o: FileSourceOptions) {
    this.name = `file:${o.path}`;
  }

  /**
   * Bytes not yet stored (the lag metric): the rest of the live file plus every rotated backup still to
   * be read (gzipped ones by compressed size). Greater than 0 while any backup is unread.
   */
  get lagBytes(): number {
    let n = this.liveLag;
    for (const b of this.backlog.values()) n += b;
    return n;
  }

  /** Identity of the file being followed, if one is open. */
  get following(): { dev: number; ino: number } | undefined {
    return this.cur ? { dev: this.cur.dev, ino: this.cur.ino } : undefined;
  }

  private get max(): number {
    return this.o.maxRecordBytes ?? 64 * 1024 * 1024;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
    this.o.log?.(level, msg, { file: this.o.path, ...fields });
  }

  start(): void {
    this.loopDone = this.run();
  }

  /** Stops after the batch in hand is stored, writes the checkpoint and closes the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopWake?.();
    await this.loopDone;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.stopWake = undefined;
        resolve();
      }, ms);
      this.stopWake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.resume();
        break;
      } catch (err) {
        failures++;
        const wait = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.log('warn', 'cannot resume from the checkpoint yet; retrying', {
          err: (err as Error).message,
          retryMs: wait,
        });
        await this.sleep(wait);
      }
    }
    failures = 0;
    while (!this.stopped) {
      try {
        const progressed = await this.poll();
        failures = 0;
        if (!progressed) {
          await this.writeCheckpointIfDirty(true);
          await this.sleep(this.o.pollMs ?? 250);
        }
      } catch (err) {
        failures++;
        const wait = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.log('warn', 'file source error; retrying', { err: (err as Error).message, retryMs: wait });
        await this.sleep(wait);
      }
    }
    if (this.cur) await this.drain(this.cur).catch(() => undefined);
    await this.writeCheckpointIfDirty(true).catch((err: unknown) =>
      this.log('error', 'cannot write the checkpoint', { err: (err as Error).message }),
    );
    await this.cur?.fh.close();
    this.cur = undefined;
  }

  // --- checkpoint

  private position(): FilePosition | undefined {
    const c = this.cur;
    if (!c) return undefined;
    return {
      dev: c.dev,
      ino: c.ino,
      fp: c.fp,
      fpLen: c.fpLen,
      offset: c.committed.offset,
      line: c.committed.line,
      savedAt: Date.now(),
    };
  }

  private async writeCheckpointIfDirty(force: boolean): Promise<void> {
    if (!this.checkpointDirty) return;
    const now = Date.now();
    if (!force && now - this.lastCheckpoint < (this.o.checkpointEveryMs ?? 1000)) return;
    const pos = this.position();
    if (!pos) return;
    await writeFileAtomic(
      this.o.checkpointFile,
      `${JSON.stringify({ version: 1, path: this.o.path, position: pos })}\n`,
    );
    this.lastCheckpoint = now;
    this.checkpointDirty = false;
  }

  private async savedPosition(): Promise<FilePosition | undefined> {
    const v = (await readJsonState(this.o.checkpointFile)) as { version?: number; position?: FilePosition };
    const p = v?.position;
    if (
      v?.version === 1 &&
      p &&
      [p.dev, p.ino, p.offset, p.line, p.fpLen].every((x) => Number.isSafeInteger(x) && x >= 0) &&
      typeof p.fp === 'string'
    )
      return p;
    return undefined;
  }

  // --- identity

  private async refreshFingerprint(c: Current): Promise<void> {
    if (c.fpLen >= FP_MAX) return;
    const head = await headOf(c.fh, FP_MAX);
    // Extended only while the start is still the one known: rewritten content is another file.
    if (head.length > c.fpLen && (c.fpLen === 0 || sha(head.subarray(0, c.fpLen)) === c.fp)) {
      c.fp = sha(head);
      c.fpLen = head.length;
    }
  }

  private async matches(file: string, p: FilePosition): Promise<boolean> {
    if (p.fpLen === 0) return false;
    if (file.endsWith('.gz')) return sha(await gzipHead(file, p.fpLen)) === p.fp;
    const fh = await open(file, 'r').catch(() => undefined);
    if (!fh) return false;
    try {
      const head = await headOf(fh, p.fpLen);
      return head.length === p.fpLen && sha(head) === p.fp;
    } finally {
      await fh.close();
    }
  }

  /** Rotated backups of the watched file, oldest first (by the time or number in their names). */
  private async backups(): Promise<string[]> {
    const dir = path.dirname(this.o.path);
    const base = path.basename(this.o.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return [];
    }
    const entries = await Promise.all(
      names
        .filter((n) => isBackupOf(n, base))
        .map(async (name) => ({
          name,
          mtimeMs: (await stat(path.join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0,
        })),
    );
    return orderBackups(entries, base).map((n) => path.join(dir, n));
  }

  /** Counts backups about to be read, in full or (the first) from a position, towards the lag. */
  private async queueBackups(files: readonly string[], first?: FilePosition): Promise<void> {
    this.backlog.clear();
    for (const [i, f] of files.entries()) {
      const st = await stat(f).catch(() => undefined);
      if (!st) continue;
      const from = i === 0 && first && !f.endsWith('.gz') ? first.offset : 0;
      this.backlog.set(f, Math.max(1, st.size - from));
    }
  }

  /** The live file's size when it is to be read from its start once the backups are read. */
  private async liveFileAhead(): Promise<void> {
    if (this.cur) return;
    this.liveLag = (await stat(this.o.path).catch(() => undefined))?.size ?? 0;
  }

  private remember(fp: string): void {
    this.done.add(fp);
    if (this.done.size > 256) this.done.delete(this.done.values().next().value!);
  }

  private async cachedIdentity(file: string): Promise<{ fp: string; fpLen: number } | undefined> {
    const st = await stat(file).catch(() => undefined);
    if (!st) return undefined;
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    let id = this.identities.get(key);
    if (!id) {
      id = await identityOf(file).catch(() => undefined);
      if (!id) return undefined;
      if (this.identities.size > 256) this.identities.clear();
      this.identities.set(key, id);
    }
    return id;
  }

  /**
   * After losing the followed file (rotated or deleted): backups written since it was opened that are
   * not it hold events never seen (a file created and rotated away between two polls). Read them.
   */
  private async catchUpBackups(): Promise<void> {
    if (this.lostSince === undefined) return;
    const unseen: string[] = [];
    for (const b of await this.backups()) {
      const st = await stat(b).catch(() => undefined);
      // A second of slack for clock granularity; re-reading an older backup only yields duplicates.
      if (!st || st.mtimeMs < this.lostSince - 1000) continue;
      const id = await this.cachedIdentity(b);
      if (!id || id.fpLen === 0 || this.done.has(id.fp)) continue;
      unseen.push(b);
    }
    await this.liveFileAhead();
    await this.queueBackups(unseen);
    for (const b of unseen) {
      if (this.stopped) return;
      await this.readBackup(b, undefined);
    }
  }

  // --- start-up

  private async resume(): Promise<void> {
    const saved = await this.savedPosition();
    if (!saved) return;
    const st = await stat(this.o.path).catch(() => undefined);
    if (st && st.ino === saved.ino && st.dev === saved.dev && (await this.matches(this.o.path, saved))) {
      await this.openLive(saved);
      return;
    }
    // Rotated (or replaced) while we were not running: find our file among the backups by its content.
    const backups = await this.backups();
    let found = -1;
    for (let i = backups.length - 1; i >= 0; i--) {
      if (await this.matches(backups[i]!, saved)) {
        found = i;
        break;
      }
    }
    if (found < 0) {
      // Our file is gone (deleted). Files written since the checkpoint are new to us: read them whole.
      const since = saved.savedAt ?? 0;
      const newer: string[] = [];
      for (const b of backups) {
        const st = await stat(b).catch(() => undefined);
        if (st && st.mtimeMs >= since) newer.push(b);
      }
      this.log('warn', 'the checkpointed file is gone; reading newer backups and the current file whole', {
        offset: saved.offset,
        backups: newer.length,
      });
      await this.liveFileAhead();
      await this.queueBackups(newer);
      for (const b of newer) if (!this.stopped) await this.readBackup(b, undefined);
      this.firstOpen = false;
      this.lostSince = since;
      return;
    }
    await this.liveFileAhead();
    await this.queueBackups(backups.slice(found), saved);
    for (let i = found; i < backups.length && !this.stopped; i++) {
      await this.readBackup(backups[i]!, i === found ? saved : undefined);
    }
    this.firstOpen = false;
    // Files that appear and are rotated away before the live file is opened are caught up by poll().
    this.lostSince = saved.savedAt ?? 0;
  }

  /** Reads a rotated backup (plain or gzip) from a position (or its start) to its end. */
  private async readBackup(file: string, from: FilePosition | undefined, attempt = 0): Promise<void> {
    this.log('info', 'reading rotated backup', { backup: file, offset: from?.offset ?? 0 });
    const splitter = new LineSplitter(from?.offset ?? 0, from?.line ?? 0, this.max);
    const st = await stat(file);
    const id = await identityOf(file);
    const fp = from ?? { dev: st.dev, ino: st.ino, ...id, offset: 0, line: 0 };
    this.remember(id.fp);
    const gz = file.endsWith('.gz');
    const raw = gz
      ? createReadStream(file)
      : createReadStream(file, { start: from?.offset ?? 0, highWaterMark: READ_BYTES });
    const stream = gz ? raw.pipe(createGunzip()) : raw;
    // Left to read, for the lag: by stored position (plain) or by what the decompressor consumed (gzip).
    const left = () => Math.max(1, st.size - (gz ? raw.bytesRead : splitter.offset));
    this.backlog.set(file, left());
    let deliveryError: unknown;
    let skip = file.endsWith('.gz') ? (from?.offset ?? 0) : 0;
    const checkpoint = async () => {
      await writeFileAtomic(
        this.o.checkpointFile,
        `${JSON.stringify({
          version: 1,
          path: this.o.path,
          position: {
            ...fp,
            dev: st.dev,
            ino: st.ino,
            offset: splitter.offset,
            line: splitter.line,
            savedAt: Date.now(),
          },
        })}\n`,
      );
    };
    try {
      for await (const raw of stream as AsyncIterable<Buffer>) {
        let chunk = raw;
        if (skip > 0) {
          if (chunk.length <= skip) {
            skip -= chunk.length;
            continue;
          }
          chunk = chunk.subarray(skip);
          skip = 0;
        }
        try {
          await this.deliver(splitter.push(chunk), file);
          await checkpoint();
          this.backlog.set(file, left());
        } catch (err) {
          deliveryError = err;
          throw err;
        }
      }
    } catch (err) {
      if (deliveryError !== undefined) throw err;
      if (gz && attempt < GZIP_RETRIES && !this.stopped) {
        // Backups are gzipped after rotation: a .gz still being written ends early, and its original is
        // still there until gzip finishes. Go on from the last complete line, from the original while it
        // exists, else from the .gz once it is whole; nothing read so far is read again.
        await this.sleep(GZIP_RETRY_MS);
        const plain = file.slice(0, -'.gz'.length);
        const next = existsSync(plain) ? plain : file;
        const nextStat = await stat(next).catch(() => undefined);
        if (nextStat) {
          this.log('info', 'rotated backup still being compressed; reading on', { backup: next });
          this.backlog.delete(file);
          return this.readBackup(
            next,
            {
              dev: nextStat.dev,
              ino: nextStat.ino,
              ...(await identityOf(next)),
              offset: splitter.offset,
              line: splitter.line,
            },
            attempt + 1,
          );
        }
      }
      this.log('warn', 'rotated backup ends early (corrupt or still being written)', {
        backup: file,
        err: (err as Error).message,
      });
    }
    await this.deliver(splitter.finish(), file);
    await checkpoint();
    this.backlog.delete(file);
  }

  private async openLive(from: FilePosition | undefined): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.o.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // A file that appears after the start is new: all of it is to be read.
        this.firstOpen = false;
        this.liveLag = 0;
        return false;
      }
      throw err;
    }
    const st = await fh.stat();
    let offset = 0;
    let line = 0;
    if (from) {
      offset = from.offset;
      line = from.line;
      if (st.size < offset) {
        this.log('warn', 'the file is shorter than the checkpoint (truncated); reading from its start');
        offset = 0;
        line = 0;
      }
    } else if (this.firstOpen && this.o.startAt === 'end') {
      ({ offset, line } = await this.endPosition(fh, st.size));
    }
    this.firstOpen = false;
    this.openedAt = Date.now();
    const cur: Current = {
      fh,
      dev: st.dev,
      ino: st.ino,
      splitter: new LineSplitter(offset, line, this.max),
      fp: '',
      fpLen: 0,
      inflight: [],
      committed: { offset, line },
    };
    // Known by its first bytes before it counts as followed.
    await this.refreshFingerprint(cur).catch(async (err: unknown) => {
      await fh.close();
      throw err;
    });
    this.cur = cur;
    this.checkpointDirty = true;
    this.log('info', 'following file', {
      offset,
      startAt: from ? 'checkpoint' : offset > 0 ? 'end' : 'beginning',
    });
    return true;
  }

  /** The offset just past the last complete line, and how many lines come before it. */
  private async endPosition(fh: FileHandle, size: number): Promise<{ offset: number; line: number }> {
    let line = 0;
    let last = 0;
    const buf = Buffer.alloc(READ_BYTES);
    for (let pos = 0; pos < size;) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(READ_BYTES, size - pos), pos);
      if (bytesRead === 0) break;
      let i = buf.indexOf(0x0a, 0);
      while (i >= 0 && i < bytesRead) {
        line++;
        last = pos + i + 1;
        i = buf.indexOf(0x0a, i + 1);
      }
      pos += bytesRead;
    }
    return { offset: last, line };
  }

  // --- steady state

  /** One round: read what is new; handle rotation. Resolves true when something was read. */
  private async poll(): Promise<boolean> {
    if (!this.cur) {
      await this.catchUpBackups();
      if (!(await this.openLive(undefined))) return false;
    }
    const c = this.cur!;
    if (c.fpLen > 0 && sha(await headOf(c.fh, c.fpLen)) !== c.fp) {
      await this.drain(c);
      // Same file, other start: truncated and rewritten past our position (copy-truncate), or deleted,
      // re-created and the inode reused. Checked before reading, so no new line is taken for old.
      await this.truncated(c);
      return true;
    }
    if (await this.readAvailable(c)) return true;
    await this.drain(c);

    // At the end of the file: has it been rotated, deleted, replaced or truncated?
    const st = await stat(this.o.path).catch(() => undefined);
    if (!st || st.ino !== c.ino || st.dev !== c.dev) {
      // Renamed or deleted: what the writer wrote before switching is in our open handle; it may have
      // been copy-truncated and rewritten before it was renamed.
      if (c.fpLen > 0 && sha(await headOf(c.fh, c.fpLen)) !== c.fp) await this.truncated(c);
      while (await this.readAvailable(c));
      await this.drain(c);
      await this.deliver(c.splitter.finish(), this.o.path);
      this.checkpointDirty = true;
      await this.refreshFingerprint(c).catch(() => undefined);
      await c.fh.close();
      this.remember(c.fp);
      this.lostSince = this.openedAt;
      this.cur = undefined;
      this.log(
        'info',
        st ? 'file rotated; following the new file' : 'file deleted; waiting for it to reappear',
      );
      // Files created and rotated away in between, then the new file from its beginning.
      await this.catchUpBackups();
      return st !== undefined && (await this.openLive(undefined));
    }
    if (st.size < c.splitter.readPosition) {
      await this.truncated(c);
      return true;
    }
    this.liveLag = Math.max(0, st.size - c.committed.offset);
    return false;
  }

  /** Copy-truncate: the rest of what we had not read is in the copy; read it there, then start over. */
  private async truncated(c: Current): Promise<void> {
    const pos = this.position()!;
    const backups = await this.backups();
    let found = -1;
    for (let i = backups.length - 1; i >= 0 && found < 0; i--) {
      if (await this.matches(backups[i]!, pos)) found = i;
    }
    if (found >= 0) {
      const b = backups[found]!;
      const size = b.endsWith('.gz') ? Number.POSITIVE_INFINITY : (await stat(b)).size;
      if (size > pos.offset) {
        await this.queueBackups([b], pos);
        await this.readBackup(b, pos);
      } else this.remember((await identityOf(b)).fp);
    }
    // Copies made since (truncated again before we looked) were never seen: read them whole.
    this.lostSince = this.openedAt;
    await this.catchUpBackups();
    this.log('info', 'file truncated (copy-truncate rotation); reading it from its start');
    this.openedAt = Date.now();
    c.splitter.reset(0, 0);
    c.committed = { offset: 0, line: 0 };
    c.fp = '';
    c.fpLen = 0;
    await this.refreshFingerprint(c);
    this.checkpointDirty = true;
  }

  /** Reads and delivers what is available from the current position; true when bytes were read. */
  private async readAvailable(c: Current): Promise<boolean> {
    const buf = Buffer.allocUnsafe(READ_BYTES);
    const { bytesRead } = await c.fh.read(buf, 0, READ_BYTES, c.splitter.readPosition);
    if (bytesRead === 0) return false;
    // Truncated and rewritten between the caller's check and this read: these bytes are another file's.
    // Nothing is taken; the next round sees the new start and reads the rest of ours from the copy.
    if (c.fpLen > 0 && sha(await headOf(c.fh, c.fpLen)) !== c.fp) return false;
    const start = { offset: c.splitter.offset, line: c.splitter.line };
    const res = c.splitter.push(buf.subarray(0, bytesRead));
    const d: Delivery = {
      start,
      end: { offset: c.splitter.offset, line: c.splitter.line },
      state: 'pending',
      promise: Promise.resolve(),
    };
    d.promise = this.deliver(res, this.o.path).then(
      () => void (d.state = 'ok'),
      (err: unknown) => {
        d.state = 'failed';
        d.error = err;
      },
    );
    c.inflight.push(d);
    if (c.inflight.length >= MAX_IN_FLIGHT) await c.inflight[0]!.promise;
    await this.settle(c);
    if (Date.now() - this.lagAt > 500) {
      this.lagAt = Date.now();
      this.liveLag = Math.max(0, (await c.fh.stat()).size - c.committed.offset);
    }
    if (c.fpLen < FP_MAX) await this.refreshFingerprint(c);
    await this.writeCheckpointIfDirty(false);
    return true;
  }

  /**
   * Moves the committed position over the deliveries stored so far, in order. When one failed, waits
   * for the rest, rewinds to where it started (those lines are read again) and throws its error.
   */
  private async settle(c: Current): Promise<void> {
    while (c.inflight.length > 0 && c.inflight[0]!.state === 'ok') {
      c.committed = c.inflight.shift()!.end;
      this.checkpointDirty = true;
    }
    const failed = c.inflight[0];
    if (failed?.state !== 'failed') return;
    await Promise.all(c.inflight.map((d) => d.promise));
    c.inflight = [];
    c.splitter.reset(failed.start.offset, failed.start.line);
    c.committed = failed.start;
    throw failed.error;
  }

  /** Waits until everything read so far is stored (or rewinds and throws). */
  private async drain(c: Current): Promise<void> {
    await Promise.all(c.inflight.map((d) => d.promise));
    await this.settle(c);
  }

  private async deliver(res: ReturnType<LineSplitter['push']>, file: string): Promise<void> {
    for (const o of res.oversized)
      this.o.quarantine.add({
        file,
        line: o.line,
        reason: `record of ${o.bytes} bytes is larger than the maximum of ${this.max} bytes`,
        raw: o.head,
      });
    if (res.lines.length === 0) return;
    const out: EventRecord[] = [];
    const target = { file, cluster: this.o.cluster, quarantine: this.o.quarantine, out };
    for (const l of res.lines) decodeLine(l.text, l.line, target, DROP_BOM);
    if (out.length > 0) {
      await this.o.sink(out);
      this.events += out.length;
    }
  }
}
