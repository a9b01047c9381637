// kubetrail's own access log: one JSON line per authenticated API request in DATADIR/access.log (who,
// role, method, path, the filter, status, duration). It never holds tokens, cookies or bodies. A filter
// may name event content (a user agent, an address searched for): with a data key it is sealed (the line
// holds `sealed` in place of `q`; src/crypto/sealed-records.ts).
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DataKey } from '../../crypto/cipher.js';
import { resealJsonLinesFile, sealFields, type Reseal } from '../../crypto/sealed-records.js';

/** The AAD of a sealed access log filter. */
export const ACCESS_LOG_AAD = 'kubetrail access log';
const CLEAR_FIELDS = ['time', 'user', 'role', 'method', 'path', 'status', 'ms', 'ip'];

export interface AccessEntry {
  user: string;
  role: string;
  method: string;
  /** The path without its query string. */
  path: string;
  /** The filter (`q`), when the request had one. */
  q?: string;
  status: number;
  ms: number;
  /** The client address. */
  ip?: string;
}

/** Seals an access log again with another key (`kubetrail key rotate`); lines without a filter stay. */
export function resealAccessLog(file: string, r: Reseal): Promise<number> {
  return resealJsonLinesFile(file, CLEAR_FIELDS, ACCESS_LOG_AAD, r);
}

export class AccessLog {
  private failed = false;

  constructor(
    readonly file: string,
    private readonly onError: (message: string) => void = () => undefined,
    private readonly key?: DataKey,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  write(entry: AccessEntry): void {
    const record = { time: new Date().toISOString(), ...entry };
    const line = `${JSON.stringify(entry.q === undefined ? record : sealFields(record, CLEAR_FIELDS, this.key, ACCESS_LOG_AAD))}\n`;
    try {
      appendFileSync(this.file, line, { mode: 0o600 });
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.onError(`cannot write the access log ${this.file}: ${(err as Error).message}`);
      this.failed = true;
    }
  }
}
