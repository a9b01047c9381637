// A field named on its own: unknown names and over-long JSON paths are refused like in a filter.
import { describe, expect, it } from 'vitest';
import type { KubetrailError } from '../core/errors.js';
import { resolveNamedField } from './field-name.js';
import { MAX_JSON_PATH_STEPS } from './syntax/parser.js';

function refusal(name: string): KubetrailError {
  try {
    resolveNamedField(name, '--by');
  } catch (e) {
    return e as KubetrailError;
  }
  throw new Error('accepted');
}

describe('resolveNamedField', () => {
  it('resolves catalog fields and JSON paths up to the step limit', () => {
    expect(resolveNamedField('user', '--by').kind).not.toBe('json');
    const ok = `requestObject${'.a'.repeat(MAX_JSON_PATH_STEPS - 1)}`;
    expect(resolveNamedField(ok, '--by').kind).toBe('json');
  });

  it('refuses a path past the limit with KT_QUERY_LIMIT naming where it came from', () => {
    const e = refusal(`requestObject${'.a'.repeat(1000)}`);
    expect(e.code).toBe('KT_QUERY_LIMIT');
    expect(e.where).toEqual({ path: '--by' });
  });

  it('refuses an unknown field with a suggestion', () => {
    const e = refusal('usr');
    expect(e.code).toBe('KT_QUERY_FIELD');
    expect(e.hint).toContain('`user`');
  });
});
