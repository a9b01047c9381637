import { describe, expect, it } from 'vitest';
import { isBackupOf, orderBackups } from './backup-order.js';

const at = (entries: [string, number][]) => entries.map(([name, mtimeMs]) => ({ name, mtimeMs }));

describe('rotated backup order', () => {
  it('orders the API server names by their time, ignoring .gz and modification times', () => {
    // 06 was gzipped after 07 was written: its mtime is the newest.
    expect(
      orderBackups(
        at([
          ['audit-2026-01-01T07-00-00.000.log', 2000],
          ['audit-2026-01-01T06-00-00.000.log.gz', 3000],
          ['audit-2025-12-31T23-59-59.999.log.gz', 5000],
        ]),
        'audit.log',
      ),
    ).toEqual([
      'audit-2025-12-31T23-59-59.999.log.gz',
      'audit-2026-01-01T06-00-00.000.log.gz',
      'audit-2026-01-01T07-00-00.000.log',
    ]);
  });

  it('orders logrotate numbers highest first and dateext names by date', () => {
    expect(
      orderBackups(
        at([
          ['audit.log.1', 9000],
          ['audit.log.10.gz', 8000],
          ['audit.log.2.gz', 9500],
        ]),
        'audit.log',
      ),
    ).toEqual(['audit.log.10.gz', 'audit.log.2.gz', 'audit.log.1']);
    expect(
      orderBackups(
        at([
          ['audit.log-20260102', 1],
          ['audit.log-20260101.gz', 2],
        ]),
        'audit.log',
      ),
    ).toEqual(['audit.log-20260101.gz', 'audit.log-20260102']);
  });

  it('orders names without a time by modification time', () => {
    expect(
      orderBackups(
        at([
          ['audit.log.old', 2],
          ['audit.log-copy', 1],
        ]),
        'audit.log',
      ),
    ).toEqual(['audit.log-copy', 'audit.log.old']);
  });

  it('knows which names are backups of a file', () => {
    expect(isBackupOf('audit-2026-01-01T06-00-00.000.log.gz', 'audit.log')).toBe(true);
    expect(isBackupOf('audit.log.1', 'audit.log')).toBe(true);
    expect(isBackupOf('audit.log', 'audit.log')).toBe(false);
    expect(isBackupOf('other.log.1', 'audit.log')).toBe(false);
  });
});
