import { describe, expect, it } from 'vitest';
import { valueLabel } from './stats.js';

describe('valueLabel', () => {
  it('names absent and empty values, writes times in RFC 3339, leaves the rest', () => {
    expect(valueLabel(null, 'user')).toBe('(none)');
    expect(valueLabel('', 'annotations.authorization.k8s.io/reason')).toBe('(empty)');
    expect(valueLabel(1_700_000_000_123_456, 'time')).toBe('2023-11-14T22:13:20.123456Z');
    expect(valueLabel(403, 'code')).toBe('403');
    expect(valueLabel('alice', 'user')).toBe('alice');
  });
});
