// The forwarder queue's frame: u32 payload length, u32 CRC-32 (over length, count, time and payload),
// u32 record count, u32 zero, f64 time appended (ms), then the payload.
import { crc32 } from '../core/crc32.js';

export const FRAME_HEADER_BYTES = 24;

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
