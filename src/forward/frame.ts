// The forwarder queue's frame: u32 payload length, u32 CRC-32 (over length, count, time and payload),
// u32 record count, u32 zero, f64 time appended (ms), then the payload; and the atomic write of its
// position file (temporary file, fsync, rename).
import * as zlib from 'node:zlib';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

export const FRAME_HEADER_BYTES = 24;

// CRC-32 (zlib's polynomial): node:zlib's crc32 (Node >= 20.15), else a table-driven one.
const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let table: Uint32Array | undefined;
function crc32(data: Uint8Array, value = 0): number {
  if (nativeCrc) return nativeCrc(data, value);
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function frameCrc(header: Buffer, payload: Uint8Array): number {
  return crc32(payload, crc32(header.subarray(8, 24), crc32(header.subarray(0, 4))));
}

export function encodeFrame(payload: Buffer, count: number, time: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(count, 8);
  header.writeDoubleLE(time, 16);
  header.writeUInt32LE(frameCrc(header, payload), 4);
  return Buffer.concat([header, payload]);
}

export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const dir = await open(path.dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
