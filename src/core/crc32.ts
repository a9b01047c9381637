// CRC-32 with zlib's polynomial, the checksum of the frames of the webhook's segment log and of the
// forwarders' queues: node:zlib's native crc32 (Node >= 20.15), else a table-driven one.
import * as zlib from 'node:zlib';

const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
let table: Uint32Array | undefined;

function jsCrc32(data: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of `data`, continuing from `value` (the CRC of what came before). */
export const crc32: (data: Uint8Array, value?: number) => number = nativeCrc ?? jsCrc32;

/** The table-driven CRC-32, for tests that hold it to the native one. */
export const crc32Portable = jsCrc32;
