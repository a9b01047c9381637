// CSV (RFC 4180) encoding: every field quoted, quotes doubled, so commas, quotes and newlines in
// attacker-chosen values cannot break the row structure.

export function csvField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '""';
  return `"${String(value).replace(/"/g, '""')}"`;
}

export function csvRow(values: readonly (string | number | null | undefined)[]): string {
  return values.map(csvField).join(',');
}
