// The kubetrail command that gives the same result as an export (for the manifest, and for the UI to
// show beside its export buttons): `export` for a bundle, `query -o ndjson|csv --asc` for flat files,
// with the time range written out as absolute times so the command means the same thing later.
import { microsToTime } from '../core/time.js';

export type ExportFormat = 'bundle' | 'ndjson' | 'csv';

/** The most events a flat export through the API holds (the CLI command says the same with --limit). */
export const FLAT_EXPORT_LIMIT = 1_000_000;

/** Quotes a word for a POSIX shell when it needs quoting. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\-.,:/=@+%]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function exportCommand(
  format: ExportFormat,
  opts: { filter: string; since?: number; until?: number; out?: string },
): string {
  const words = ['kubetrail', format === 'bundle' ? 'export' : 'query'];
  if (opts.since !== undefined) words.push('--since', microsToTime(opts.since));
  if (opts.until !== undefined) words.push('--until', microsToTime(opts.until));
  if (format === 'bundle') words.push('--out', opts.out ?? 'evidence.tar.gz');
  else words.push('--asc', '--limit', String(FLAT_EXPORT_LIMIT), '-o', format);
  const filter = opts.filter.trim() === '' ? '*' : opts.filter;
  // A filter starting with `-` would read as an option: it goes after `--`, the options before.
  if (filter.startsWith('-')) words.push('--');
  words.push(filter);
  const line = words.map(shellQuote).join(' ');
  return format === 'bundle' ? line : `${line} > export.${format}`;
}
