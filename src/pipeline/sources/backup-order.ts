// Which files in a log's directory are rotated backups of it, and in what order they were written
// (oldest first). Rotation names are trusted over modification times, because compressing a backup later
// (the API server's log backend, lumberjack, logrotate's `compress`) writes a new file with a new mtime:
// `audit-2026-01-01T06-00-00.000.log.gz` is older than `audit-2026-01-01T07-00-00.000.log` even when it
// was gzipped after that one was written.
//
// Naming schemes understood, for a live file `audit.log`:
// - the API server's and lumberjack's: `audit-YYYY-MM-DDTHH-MM-SS.mmm.log` (UTC or local time): by the
//   time in the name;
// - logrotate's `dateext`: `audit.log-YYYYMMDD[HH[MM[SS]]]`: by the date in the name;
// - logrotate's numbered: `audit.log.1`, `audit.log.2.gz`, ...: a higher number is older;
// - anything else that starts like a backup of the file: by modification time.
// A `.gz` suffix is ignored for the order.

export interface BackupEntry {
  /** The file's name in the directory. */
  name: string;
  /** Modification time (epoch ms), used only for names that carry no order. */
  mtimeMs: number;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The base name's stem and extension: `audit.log` → [`audit`, `.log`]. */
function split(base: string): [string, string] {
  const dot = base.lastIndexOf('.');
  return dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
}

/** Whether `name` looks like a rotated backup of the live file named `base` (same directory). */
export function isBackupOf(name: string, base: string): boolean {
  if (name === base) return false;
  const [stem] = split(base);
  return name.startsWith(`${stem}-`) || name.startsWith(`${base}.`) || name.startsWith(`${base}-`);
}

type Key = { kind: 'time'; time: string } | { kind: 'number'; n: number } | { kind: 'mtime' };

function keyOf(name: string, base: string): Key {
  const [stem, ext] = split(base);
  const plain = name.replace(/\.gz$/i, '');
  const stamped = new RegExp(
    `^${escape(stem)}-(\\d{4})-(\\d{2})-(\\d{2})T(\\d{2})-(\\d{2})-(\\d{2})(?:\\.(\\d{1,9}))?${escape(ext)}$`,
  ).exec(plain);
  if (stamped) {
    const [, y, mo, d, h, mi, s, frac = ''] = stamped;
    return { kind: 'time', time: `${y}${mo}${d}${h}${mi}${s}${frac.padEnd(9, '0')}` };
  }
  const dated = new RegExp(`^${escape(base)}-(\\d{8})(\\d{2})?(\\d{2})?(\\d{2})?$`).exec(plain);
  if (dated) {
    const [, ymd, h = '00', mi = '00', s = '00'] = dated;
    return { kind: 'time', time: `${ymd}${h}${mi}${s}${'0'.repeat(9)}` };
  }
  const numbered = new RegExp(`^${escape(base)}\\.(\\d{1,9})$`).exec(plain);
  if (numbered) return { kind: 'number', n: Number(numbered[1]) };
  return { kind: 'mtime' };
}

/**
 * Orders backups oldest first. Names with a time are ordered by it, and numbered names by their number
 * (highest first); a mix of schemes in one directory is ordered by modification time between schemes,
 * each scheme keeping its own order among its files.
 */
export function orderBackups(entries: readonly BackupEntry[], base: string): string[] {
  const keyed = entries.map((e) => ({ ...e, key: keyOf(e.name, base) }));
  const byName = (a: { name: string }, b: { name: string }) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  // First by modification time, which places the schemes against each other.
  const slots = [...keyed].sort((a, b) => a.mtimeMs - b.mtimeMs || byName(a, b));
  // Then, within each scheme, the positions its files hold are refilled in the scheme's own order.
  const within: Record<Key['kind'], (a: (typeof keyed)[number], b: (typeof keyed)[number]) => number> = {
    time: (a, b) => {
      const ta = (a.key as { time: string }).time;
      const tb = (b.key as { time: string }).time;
      return ta < tb ? -1 : ta > tb ? 1 : byName(a, b);
    },
    number: (a, b) => (b.key as { n: number }).n - (a.key as { n: number }).n || byName(a, b),
    mtime: (a, b) => a.mtimeMs - b.mtimeMs || byName(a, b),
  };
  for (const kind of ['time', 'number'] as const) {
    const positions = slots.flatMap((e, i) => (e.key.kind === kind ? [i] : []));
    const ordered = positions.map((i) => slots[i]!).sort(within[kind]);
    positions.forEach((p, j) => (slots[p] = ordered[j]!));
  }
  return slots.map((e) => e.name);
}
