// A local NDJSON file, rotated by size: a batch is appended and fdatasync'ed; when the file would grow
// past maxFileBytes it is renamed PATH.1 (PATH.1 to PATH.2, and so on) and a new one started, keeping
// keepFiles rotated files (the oldest is removed). Lines are those of the generic HTTP forwarder.
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { ResolvedForwarder } from '../spec.js';
import { retryAll, type Destination, type ForwardRecord, type SendOutcome } from '../types.js';
import { ndjsonLine } from './http-ndjson.js';

export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
export const DEFAULT_KEEP_FILES = 5;

export class FileDestination implements Destination {
  private fh: FileHandle | undefined;
  private size = 0;
  private readonly maxBytes: number;
  private readonly keep: number;

  constructor(
    def: ResolvedForwarder,
    private readonly file: string,
  ) {
    this.maxBytes = def.config.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.keep = def.config.keepFiles ?? DEFAULT_KEEP_FILES;
  }

  private async openFile(): Promise<FileHandle> {
    if (this.fh) return this.fh;
    await mkdir(path.dirname(this.file), { recursive: true });
    this.fh = await open(this.file, 'a', 0o600);
    this.size = (await stat(this.file)).size;
    return this.fh;
  }

  private async rotate(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
    if (this.keep === 0) {
      await unlink(this.file).catch(() => undefined);
      return;
    }
    await unlink(`${this.file}.${this.keep}`).catch(() => undefined);
    for (let i = this.keep - 1; i >= 1; i--) {
      await rename(`${this.file}.${i}`, `${this.file}.${i + 1}`).catch(() => undefined);
    }
    await rename(this.file, `${this.file}.1`);
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    try {
      const text = Buffer.from(batch.map(ndjsonLine).join(''));
      await this.openFile();
      if (this.size > 0 && this.size + text.length > this.maxBytes) await this.rotate();
      const fh = await this.openFile();
      await fh.write(text);
      await fh.datasync();
      this.size += text.length;
      return { retry: [], dead: [] };
    } catch (err) {
      await this.fh?.close().catch(() => undefined);
      this.fh = undefined;
      return retryAll(batch, `cannot write ${this.file}: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    await this.fh?.close();
    this.fh = undefined;
  }
}
