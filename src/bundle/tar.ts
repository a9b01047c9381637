// A minimal POSIX tar (ustar) writer and reader, gzip-compressed, for evidence bundles: regular files
// only, flat names, sizes up to 8 GiB. Written streaming from files on disk; read streaming, member by
// member, with every header checked (checksum, octal fields, type, name), so that a hostile archive is
// refused with a clear error rather than half-read.
import { closeSync, createReadStream, createWriteStream, openSync, readSync, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { KubetrailError } from '../core/errors.js';

const BLOCK = 512;
/** Largest member: what 11 octal digits can say. */
export const MAX_MEMBER_BYTES = 8 * 1024 ** 3 - 1;

export interface TarSource {
  name: string;
  /** A file to copy, or the bytes themselves. */
  file?: string;
  data?: Buffer;
  size: number;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(name: string, size: number, mtimeSec: number): Buffer {
  const nameBytes = Buffer.from(name, 'utf8');
  if (nameBytes.length === 0 || nameBytes.length > 100 || name.includes('/'))
    throw new KubetrailError(
      'KT_INTERNAL',
      `tar member name ${JSON.stringify(name)} is not a flat name of 1-100 bytes`,
    );
  if (!Number.isInteger(size) || size < 0 || size > MAX_MEMBER_BYTES)
    throw new KubetrailError(
      'KT_OUTPUT_WRITE',
      `a bundle member of ${size} bytes is larger than tar can hold (8 GiB)`,
    );
  const h = Buffer.alloc(BLOCK, 0);
  nameBytes.copy(h, 0);
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtimeSec, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** Writes the members, in order, as one gzip-compressed tar file. */
export async function writeTarGz(
  out: string,
  members: readonly TarSource[],
  mtimeMs = Date.now(),
): Promise<void> {
  const mtime = Math.floor(mtimeMs / 1000);
  async function* blocks(): AsyncGenerator<Buffer> {
    for (const m of members) {
      yield tarHeader(m.name, m.size, mtime);
      let written = 0;
      if (m.data) {
        yield m.data;
        written = m.data.length;
      } else if (m.file) {
        for await (const chunk of createReadStream(m.file)) {
          written += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
      }
      if (written !== m.size)
        throw new KubetrailError(
          'KT_OUTPUT_WRITE',
          `bundle member ${m.name} changed size while it was written`,
        );
      const pad = (BLOCK - (m.size % BLOCK)) % BLOCK;
      if (pad > 0) yield Buffer.alloc(pad, 0);
    }
    yield Buffer.alloc(2 * BLOCK, 0);
  }
  await pipeline(blocks, createGzip({ level: 6 }), createWriteStream(out, { flags: 'wx' }));
}

/** What a reader is told about each member, and how it takes the member's bytes. */
export interface MemberHandler {
  data(chunk: Buffer): void | Promise<void>;
  end(): void | Promise<void>;
}

function bad(file: string, message: string): KubetrailError {
  return new KubetrailError('KT_BUNDLE_READ', message, { where: { file } });
}

function parseOctal(field: Buffer): number | undefined {
  const text = field
    .toString('ascii')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]{1,12}$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** Parses one header block; undefined for an all-zero block (the end). */
export function parseTarHeader(h: Buffer, file: string): { name: string; size: number } | undefined {
  if (h.every((b) => b === 0)) return undefined;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  const stored = parseOctal(h.subarray(148, 156));
  if (stored !== sum) throw bad(file, 'the archive is damaged: a tar header checksum does not match');
  const type = String.fromCharCode(h[156]!);
  const end = h.indexOf(0, 0);
  const name = h.subarray(0, end < 0 || end > 100 ? 100 : end).toString('utf8');
  if (type !== '0' && type !== '\0')
    throw bad(
      file,
      `member ${JSON.stringify(name)} is not a regular file (tar type ${JSON.stringify(type)})`,
    );
  const prefixEnd = h.indexOf(0, 345);
  if (prefixEnd !== 345 && h[345] !== 0)
    throw bad(file, `member ${JSON.stringify(name)} has a directory prefix: bundles hold flat names only`);
  if (name === '' || name.includes('/') || name.includes('\\') || name === '.' || name === '..')
    throw bad(file, `member name ${JSON.stringify(name)} is not a flat file name`);
  const size = parseOctal(h.subarray(124, 136));
  if (size === undefined || size > MAX_MEMBER_BYTES)
    throw bad(file, `member ${JSON.stringify(name)} has an unreadable size`);
  return { name, size };
}

/**
 * Reads a gzip-compressed tar file member by member: `member` is called with each member's name and size
 * and returns the handler for its bytes (awaited chunk by chunk: a slow handler slows the reading).
 */
export async function readTarGz(
  file: string,
  member: (name: string, size: number) => MemberHandler | Promise<MemberHandler>,
  opts: { maxMembers?: number } = {},
): Promise<void> {
  const maxMembers = opts.maxMembers ?? 64;
  let pending: Buffer = Buffer.alloc(0);
  let current: { handler: MemberHandler; left: number; pad: number } | undefined;
  let skip = 0;
  let ended = false;
  let count = 0;
  const input = createReadStream(file).pipe(createGunzip());
  try {
    for await (const chunk of input) {
      if (ended) continue;
      pending = pending.length === 0 ? (chunk as Buffer) : Buffer.concat([pending, chunk as Buffer]);
      for (;;) {
        if (skip > 0) {
          const n = Math.min(skip, pending.length);
          pending = pending.subarray(n);
          skip -= n;
          if (skip > 0) break;
        }
        if (current) {
          if (pending.length === 0 && current.left > 0) break;
          const n = Math.min(current.left, pending.length);
          if (n > 0) await current.handler.data(pending.subarray(0, n));
          pending = pending.subarray(n);
          current.left -= n;
          if (current.left > 0) break;
          await current.handler.end();
          skip = current.pad;
          current = undefined;
          continue;
        }
        if (pending.length < BLOCK) break;
        const header = parseTarHeader(pending.subarray(0, BLOCK), file);
        pending = pending.subarray(BLOCK);
        if (!header) {
          ended = true;
          break;
        }
        if (++count > maxMembers) throw bad(file, `the archive has more than ${maxMembers} members`);
        const handler = await member(header.name, header.size);
        current = { handler, left: header.size, pad: (BLOCK - (header.size % BLOCK)) % BLOCK };
      }
    }
  } catch (err) {
    input.destroy();
    if (err instanceof KubetrailError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new KubetrailError('KT_INPUT_NOT_FOUND', `no such file: ${file}`, { where: { file } });
    throw bad(file, `the file is not a readable bundle (gzip-compressed tar): ${(err as Error).message}`);
  }
  if (current) throw bad(file, 'the archive ends in the middle of a member: it was cut short');
  if (!ended) throw bad(file, 'the archive has no end marker: it was cut short');
}

/**
 * The name of the first member when the file is a gzip-compressed tar, else undefined (not a regular
 * file, not gzip, not tar). Reads only the first block.
 */
export async function firstMemberName(file: string): Promise<string | undefined> {
  try {
    if (!statSync(file).isFile()) return undefined;
    const fd = openSync(file, 'r');
    const magic = Buffer.alloc(2);
    try {
      if (readSync(fd, magic, 0, 2, 0) < 2 || magic[0] !== 0x1f || magic[1] !== 0x8b) return undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const input = createReadStream(file).pipe(createGunzip());
  let head = Buffer.alloc(0);
  try {
    for await (const chunk of input) {
      head = Buffer.concat([head, chunk as Buffer]);
      if (head.length >= BLOCK) break;
    }
  } catch {
    return undefined;
  } finally {
    input.destroy();
  }
  if (head.length < BLOCK) return undefined;
  try {
    return parseTarHeader(head.subarray(0, BLOCK), file)?.name;
  } catch {
    return undefined;
  }
}
