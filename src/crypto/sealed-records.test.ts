import { describe, expect, it } from 'vitest';
import { DataKey } from './cipher.js';
import { openFields, openPayload, openValue, sealFields, sealPayload, sealValue } from './sealed-records.js';

const key = DataKey.generate();
const other = DataKey.generate();
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return 'no error';
};

describe('sealed records', () => {
  it('keeps the clear fields, seals the rest into `sealed`, and opens it back', () => {
    const rec = { time: 't', file: 'f', line: 3, reason: 'bad MARKER', raw: '{"MARKER":1}' };
    const sealed = sealFields(rec, ['time', 'file', 'line'], key, 'here');
    expect(Object.keys(sealed)).toEqual(['time', 'file', 'line', 'sealed']);
    expect(JSON.stringify(sealed)).not.toContain('MARKER');
    expect(openFields(sealed, key, 'here', 'x')).toEqual(rec);
    expect(code(() => openFields(sealed, undefined, 'here', 'x'))).toBe('KT_KEY_REQUIRED');
    expect(code(() => openFields(sealed, other, 'here', 'x'))).toBe('KT_KEY_MISMATCH');
    expect(code(() => openFields(sealed, key, 'elsewhere', 'x'))).toBe('KT_KEY_MISMATCH');
  });

  it('leaves everything as it is without a key, and reads plain records with one', () => {
    const rec = { time: 't', raw: 'MARKER' };
    expect(sealFields(rec, ['time'], undefined, 'here')).toBe(rec);
    expect(openFields(rec, key, 'here', 'x')).toBe(rec);
    const plain = Buffer.from('{"c":"x"}\nbody');
    expect(sealPayload(plain, undefined, 'p')).toBe(plain);
    expect(openPayload(plain, key, 'p', 'x')).toBe(plain);
    expect(sealValue('v', undefined, 'a')).toBe('v');
  });

  it('seals payloads and values whole', () => {
    const sealed = sealPayload(Buffer.from('{"MARKER":1}'), key, 'p');
    expect(sealed.includes('MARKER')).toBe(false);
    expect(openPayload(sealed, key, 'p', 'x').toString()).toBe('{"MARKER":1}');
    expect(code(() => openPayload(sealed, undefined, 'p', 'x'))).toBe('KT_KEY_REQUIRED');
    expect(code(() => openPayload(sealed, other, 'p', 'x'))).toBe('KT_KEY_MISMATCH');
    const v = sealValue('MARKER', key, 'a');
    expect(v).not.toContain('MARKER');
    expect(openValue(v, key, 'a')).toBe('MARKER');
    expect(code(() => openValue(v, other, 'a'))).toBe('KT_KEY_MISMATCH');
  });
});
