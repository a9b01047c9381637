// kubetrail's own access log: one JSON line per authenticated API request in DATADIR/access.log (who,
// role, method, path, the filter, status, duration). It never holds tokens, cookies or bodies.
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

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

export class AccessLog {
  private failed = false;

  constructor(
    readonly file: string,
    private readonly onError: (message: string) => void = () => undefined,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
  }

  write(entry: AccessEntry): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`;
    try {
      appendFileSync(this.file, line, { mode: 0o600 });
      this.failed = false;
    } catch (err) {
      if (!this.failed) this.onError(`cannot write the access log ${this.file}: ${(err as Error).message}`);
      this.failed = true;
    }
  }
}
