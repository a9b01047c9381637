import { describe, expect, it } from 'vitest';
import { csvRow } from '../core/csv.js';
import { renderTable, safeText, truncate } from './terminal.js';

describe('safeText', () => {
  it('shows control and bidi characters escaped instead of interpreting them', () => {
    expect(safeText('a\x1b[31mred\x1b[0m')).toBe('a\\x1b[31mred\\x1b[0m');
    expect(safeText('line1\nline2\r')).toBe('line1\\nline2\\r');
    expect(safeText('evil\u202Etxt.exe')).toBe('evil\\u202etxt.exe');
    expect(safeText('plain kubectl/v1.30.0 (linux/amd64)')).toBe('plain kubectl/v1.30.0 (linux/amd64)');
  });
});

describe('renderTable', () => {
  const rows = [
    { a: 'short', b: 'x'.repeat(100), n: '1' },
    { a: 'a much longer value', b: 'y', n: '12345' },
  ];
  const cols = [
    { header: 'A', get: (r: (typeof rows)[0]) => r.a },
    { header: 'B', get: (r: (typeof rows)[0]) => r.b, weight: 3 },
    { header: 'N', get: (r: (typeof rows)[0]) => r.n, right: true, min: 5 },
  ];
  it('fits the width, cutting the widest column first', () => {
    const text = renderTable(rows, cols, 60);
    for (const line of text.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(text).toContain('…');
    expect(text).toContain('a much longer value');
    expect(text.split('\n')[2]).toMatch(/12345$/);
  });
  it('does not cut when there is room', () => {
    expect(renderTable(rows, cols, 500)).toContain('x'.repeat(100));
  });
  it('truncate keeps short strings', () => {
    expect(truncate('abc', 3)).toBe('abc');
    expect(truncate('abcd', 3)).toBe('ab…');
  });
});

describe('csvRow', () => {
  it('quotes every field so separators in values cannot break rows', () => {
    expect(csvRow(['a,b', 'say "hi"', 'two\nlines', null, 3])).toBe('"a,b","say ""hi""","two\nlines","","3"');
  });
});
