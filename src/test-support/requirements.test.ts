// The test requirements: a missing corpus or build fails in CI and skips (saying why) elsewhere.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { available, describeMissing, inCi, missing, type Requirement } from './requirements.js';

const absent: Requirement = { name: 'a thing', path: '/nonexistent/kubetrail-test', fix: 'make it' };
const present: Requirement = { name: 'this file', path: new URL(import.meta.url).pathname, fix: '' };

afterEach(() => vi.unstubAllEnvs());

describe('test requirements', () => {
  it('reads CI the way CI systems set it', () => {
    expect(inCi({ CI: 'true' })).toBe(true);
    expect(inCi({ CI: '1' })).toBe(true);
    expect(inCi({ CI: 'false' })).toBe(false);
    expect(inCi({ CI: '0' })).toBe(false);
    expect(inCi({})).toBe(false);
  });

  it('lists only what is missing', () => {
    expect(missing([absent, present])).toEqual([absent]);
  });

  it('fails in CI and skips elsewhere when something is missing', () => {
    vi.stubEnv('CI', 'true');
    expect(() => available(absent)).toThrow(/CI must run every test, but a thing \(\/nonexistent/);
    expect(available(present)).toBe(true);
    vi.stubEnv('CI', '');
    expect(available(absent)).toBe(false);
  });

  it('says how to get what is missing', () => {
    expect(describeMissing([absent], false)).toBe(
      'some tests are skipped because this is missing: a thing (/nonexistent/kubetrail-test): make it',
    );
  });
});
