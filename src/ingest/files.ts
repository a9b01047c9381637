// Finds the files to read for a list of inputs, in the order to read them. A directory is read like the
// API server's log directory: files that look like audit logs (*.log, *.json, *.jsonl, *.ndjson, each
// optionally .gz), grouped by base name, each group's rotated backups (NAME-YYYY-MM-DDTHH-MM-SS.mmm.EXT,
// the API server's rotation naming) oldest first by the time in the name, then the live file.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { KubetrailError } from '../core/errors.js';

export interface InputFile {
  /** A path, or '-' for standard input. */
  path: string;
  size: number | undefined;
  gzip: boolean;
}

const LOG_FILE = /\.(log|json|jsonl|ndjson)(\.gz)?$/i;
const ROTATED = /^(.*)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d{3})?)(\.[^.]+)?(\.gz)?$/;

/** Sort key for a file in a log directory: [base name, rotation time or '~' for the live file]. */
export function rotationKey(name: string): [string, string] {
  const m = ROTATED.exec(name);
  if (m) return [`${m[1]}${m[3] ?? ''}`, m[2]!];
  return [name.replace(/\.gz$/i, ''), '~'];
}

export function orderLogFiles(names: readonly string[]): string[] {
  return [...names]
    .filter((n) => LOG_FILE.test(n) || ROTATED.test(n))
    .sort((a, b) => {
      const [ba, ta] = rotationKey(a);
      const [bb, tb] = rotationKey(b);
      return ba < bb ? -1 : ba > bb ? 1 : ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : a > b ? 1 : 0;
    });
}

export async function listInputFiles(inputs: readonly string[]): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push({ path: '-', size: undefined, gzip: false });
      continue;
    }
    let st;
    try {
      st = statSync(input);
    } catch {
      throw new KubetrailError('KT_INPUT_NOT_FOUND', `${input} does not exist`, { where: { file: input } });
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = readdirSync(input);
      } catch (err) {
        throw new KubetrailError('KT_INPUT_READ', `cannot list ${input}: ${(err as Error).message}`, {
          where: { file: input },
        });
      }
      for (const name of orderLogFiles(names)) {
        const p = path.join(input, name);
        const s = statSync(p);
        if (s.isFile()) out.push({ path: p, size: s.size, gzip: /\.gz$/i.test(name) });
      }
    } else {
      out.push({ path: input, size: st.size, gzip: /\.gz$/i.test(input) });
    }
  }
  return out;
}
