import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isKubetrailError } from '../core/errors.js';
import { DataKey, isSealed, isSealedBytes, sealedKeyId } from './cipher.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKubetrailError(err) ? err.code : `not coded: ${String(err)}`;
  }
  return undefined;
}

describe('DataKey', () => {
  const key = DataKey.generate();
  const other = DataKey.generate();

  it('names a key by the first 16 hex digits of its SHA-256', () => {
    const k = DataKey.fromBytes(Buffer.alloc(32, 1));
    expect(k.id).toBe('72cd6e8422c407fb');
    expect(key.id).toMatch(/^[0-9a-f]{16}$/);
    expect(key.id).not.toBe(other.id);
  });

  it('seals and opens text, with a fresh nonce every time', () => {
    const plain = '{"user":"alice","é":"✓"}';
    const a = key.sealText(plain);
    const b = key.sealText(plain);
    expect(a).not.toBe(b);
    expect(a.startsWith(`kt1:${key.id}:`)).toBe(true);
    expect(a).not.toContain('alice');
    expect(isSealed(a)).toBe(true);
    expect(sealedKeyId(a)).toBe(key.id);
    expect(key.openText(a)).toBe(plain);
    expect(key.openText(key.sealText(''))).toBe('');
  });

  it('binds the AAD: opening with another AAD or none fails', () => {
    const s = key.sealText('x', 'row-1');
    expect(key.openText(s, 'row-1')).toBe('x');
    expect(code(() => key.openText(s, 'row-2'))).toBe('KT_KEY_MISMATCH');
    expect(code(() => key.openText(s))).toBe('KT_KEY_MISMATCH');
  });

  it('refuses a wrong key and changed data with KT_KEY_MISMATCH', () => {
    const s = key.sealText('secret');
    expect(code(() => other.openText(s))).toBe('KT_KEY_MISMATCH');
    // Same key id (forged prefix) but another key: authentication fails.
    const forged = `kt1:${other.id}:${s.slice(`kt1:${key.id}:`.length)}`;
    expect(code(() => other.openText(forged))).toBe('KT_KEY_MISMATCH');
    const body = Buffer.from(s.slice(22), 'base64');
    body[14] = body[14]! ^ 1;
    expect(code(() => key.openText(`kt1:${key.id}:${body.toString('base64')}`))).toBe('KT_KEY_MISMATCH');
    expect(code(() => key.openText(`kt1:${key.id}:AAAA`))).toBe('KT_KEY_MISMATCH');
    expect(code(() => key.openText('plain text'))).toBe('KT_KEY_MISMATCH');
  });

  it('seals and opens bytes', () => {
    const plain = Buffer.from([0, 1, 2, 255]);
    const s = key.sealBytes(plain, 'file');
    expect(isSealedBytes(s)).toBe(true);
    expect(isSealedBytes(plain)).toBe(false);
    expect(key.openBytes(s, 'file').equals(plain)).toBe(true);
    expect(code(() => other.openBytes(s, 'file'))).toBe('KT_KEY_MISMATCH');
    const bad = Buffer.from(s);
    bad[bad.length - 1] = bad[bad.length - 1]! ^ 1;
    expect(code(() => key.openBytes(bad, 'file'))).toBe('KT_KEY_MISMATCH');
  });

  it('derives keyed hashes per purpose, stable under one key', () => {
    const k1 = DataKey.fromBytes(Buffer.alloc(32, 7));
    const k2 = DataKey.fromBytes(Buffer.alloc(32, 7));
    expect(k1.mac('content hash', 'abc')).toBe(k2.mac('content hash', 'abc'));
    expect(k1.mac('content hash', 'abc')).not.toBe(k1.mac('other', 'abc'));
    expect(k1.mac('content hash', 'abc')).not.toBe(other.mac('content hash', 'abc'));
    expect(k1.mac('content hash', 'abc')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never shows the key bytes', () => {
    const bytes = Buffer.alloc(32, 9);
    const k = DataKey.fromBytes(bytes);
    const shown = `${inspect(k, { showHidden: true, depth: 5 })} ${JSON.stringify(k)}`;
    expect(shown).not.toContain(bytes.toString('hex'));
    expect(shown).not.toContain(bytes.toString('base64'));
    expect(shown).toContain(k.id);
  });

  it('refuses a key of the wrong length', () => {
    expect(code(() => DataKey.fromBytes(Buffer.alloc(16)))).toBe('KT_KEY_FILE');
  });
});
