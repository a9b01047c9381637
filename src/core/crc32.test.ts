import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Portable } from './crc32.js';

describe('crc32', () => {
  it('is the standard CRC-32, native or portable', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32Portable(Buffer.from('123456789'))).toBe(0xcbf43926);
  });

  it('continues from a previous value, and both implementations agree', () => {
    for (let i = 0; i < 50; i++) {
      const a = randomBytes(i * 7);
      const b = randomBytes(i * 3 + 1);
      const whole = crc32(Buffer.concat([a, b]));
      expect(crc32(b, crc32(a))).toBe(whole);
      expect(crc32Portable(b, crc32Portable(a))).toBe(whole);
    }
  });
});
