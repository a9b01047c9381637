// Safe text for terminals and tables: event strings are attacker-chosen, so control characters (ANSI
// escapes, carriage returns, bidi overrides) are shown escaped, never interpreted. Also width helpers.

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Replaces control and bidi characters with visible escapes (\n, \x1b, \u202e). */
export function safeText(value: string): string {
  return value.replace(CONTROL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Cuts a string to a display width with an ellipsis. */
export function truncate(value: string, width: number): string {
  if (width <= 0) return '';
  if (value.length <= width) return value;
  if (width === 1) return '…';
  return `${value.slice(0, width - 1)}…`;
}

export function terminalWidth(stream: NodeJS.WriteStream = process.stdout): number {
  const env = Number(process.env.COLUMNS);
  if (Number.isFinite(env) && env > 20) return env;
  return stream.isTTY && stream.columns ? stream.columns : 160;
}

export interface Column<T> {
  header: string;
  get(row: T): string;
  /** Minimum width; the column may be squeezed down to it. */
  min?: number;
  /** Right-align (numbers). */
  right?: boolean;
  /** Share of spare width this column gets when squeezing (higher keeps more). */
  weight?: number;
}

/**
 * Renders rows as an aligned table that fits `width`: widest columns are squeezed first, down to their
 * minimum, and cells are cut with an ellipsis. Every cell is passed through safeText.
 */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], width: number): string {
  const cells = rows.map((r) => columns.map((c) => safeText(c.get(r))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const gap = 2;
  const total = () => widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1);
  while (total() > width) {
    let best = -1;
    let bestScore = 0;
    for (let i = 0; i < columns.length; i++) {
      const min = Math.max(columns[i]!.min ?? 6, 3);
      if (widths[i]! <= min) continue;
      const score = widths[i]! / (columns[i]!.weight ?? 1);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) break;
    widths[best] = Math.max(
      widths[best]! - Math.max(1, total() - width),
      Math.max(columns[best]!.min ?? 6, 3),
    );
  }
  const line = (values: string[]) =>
    values
      .map((v, i) => {
        const w = widths[i]!;
        const t = truncate(v, w);
        const last = i === values.length - 1;
        return columns[i]!.right ? t.padStart(w) : last ? t : t.padEnd(w);
      })
      .join(' '.repeat(gap));
  return [line(columns.map((c) => c.header)), ...cells.map((r) => line(r))].join('\n');
}
