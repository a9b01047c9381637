import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isKubetrailError, type KubetrailError } from '../core/errors.js';
import {
  createDataKeyFile,
  KEY_FILE_ENV,
  loadDataKey,
  parseKeyText,
  resolveDataKey,
  resolveKeyFile,
} from './key-file.js';

function thrown(fn: () => unknown): KubetrailError {
  try {
    fn();
  } catch (err) {
    if (isKubetrailError(err)) return err;
    throw err;
  }
  throw new Error('did not throw');
}

const dir = mkdtempSync(path.join(tmpdir(), 'kt-key-'));

describe('data key files', () => {
  it('creates a key with mode 0600 that loads back, and never overwrites', () => {
    const file = path.join(dir, 'a.key');
    const made = createDataKeyFile(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadDataKey(file).id).toBe(made.id);
    const before = readFileSync(file, 'utf8');
    expect(thrown(() => createDataKeyFile(file)).code).toBe('KT_OUTPUT_EXISTS');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(thrown(() => createDataKeyFile(path.join(dir, 'no', 'such', 'dir'))).code).toBe('KT_OUTPUT_WRITE');
  });

  it('refuses a key file readable by group or others, saying chmod 600', () => {
    const file = path.join(dir, 'open.key');
    createDataKeyFile(file);
    chmodSync(file, 0o640);
    const err = thrown(() => loadDataKey(file));
    expect(err.code).toBe('KT_KEY_FILE');
    expect(err.format()).toContain('chmod 600');
    chmodSync(file, 0o600);
    expect(loadDataKey(file).id).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses a missing or malformed key file', () => {
    expect(thrown(() => loadDataKey(path.join(dir, 'missing.key'))).code).toBe('KT_KEY_FILE');
    const bad = path.join(dir, 'bad.key');
    writeFileSync(bad, 'not a key\n', { mode: 0o600 });
    expect(thrown(() => loadDataKey(bad)).code).toBe('KT_KEY_FILE');
  });

  it('accepts base64 or hex, with comments', () => {
    const hex = 'ab'.repeat(32);
    expect(parseKeyText(`# c\n\n${hex}\n`)?.toString('hex')).toBe(hex);
    const b64 = Buffer.alloc(32, 3).toString('base64');
    expect(parseKeyText(b64)?.equals(Buffer.alloc(32, 3))).toBe(true);
    expect(parseKeyText(Buffer.alloc(16).toString('base64'))).toBeUndefined();
    expect(parseKeyText(`${hex}\n${hex}`)).toBeUndefined();
  });

  it('resolves --key-file, then KUBETRAIL_KEY_FILE, then the configuration', () => {
    expect(resolveKeyFile({})).toBeUndefined();
    expect(resolveKeyFile({ config: 'c' })).toEqual({ file: 'c', from: 'encryption.keyFile' });
    expect(resolveKeyFile({ config: 'c', env: { [KEY_FILE_ENV]: 'e' } })).toEqual({
      file: 'e',
      from: KEY_FILE_ENV,
    });
    expect(resolveKeyFile({ flag: 'f', config: 'c', env: { [KEY_FILE_ENV]: 'e' } })?.file).toBe('f');
    const file = path.join(dir, 'r.key');
    const key = createDataKeyFile(file);
    expect(resolveDataKey({ env: { [KEY_FILE_ENV]: file } })?.id).toBe(key.id);
    expect(resolveDataKey({ env: {} })).toBeUndefined();
  });
});
