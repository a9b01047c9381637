// Finds the files to read for a list of inputs, in the order to read them. A directory is read like the
// API server's log directory: files that look like audit logs (*.log, *.json, *.jsonl, *.ndjson, each
// optionally .gz), grouped by base name, each group's rotated backups (NAME-YYYY-MM-DDTHH-MM-SS.mmm.EXT,
// the API server's rotation naming) oldest first by the time in the name, then the live file.
//
// An entry of a directory that cannot be read as a file (a dangling symbolic link, a link loop, a
// subdirectory, a FIFO, a device) is skipped and reported through `onSkip`, so that one bad entry never
// stops the rest; without `onSkip` it is an error (KT_INPUT_READ). A path named on the command line is read
// whatever it is (a FIFO from `<(zcat …)` included); one that does not exist is an error.
import { lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
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

/** An input that was not read, and why (shown to the user). */
export interface SkippedInput {
  file: string;
  reason: string;
}

function isLink(file: string): boolean {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Why a path cannot be opened, in words, from the error of stat/open. */
export function unreadableReason(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return isLink(file) ? 'a symbolic link to a file that does not exist' : 'it does not exist';
    case 'ELOOP':
      return 'a loop of symbolic links';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'a directory, not a file';
    default:
      return err.message;
  }
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a named pipe (FIFO)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
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

export async function listInputFiles(
  inputs: readonly string[],
  onSkip?: (skipped: SkippedInput) => void,
): Promise<InputFile[]> {
  const out: InputFile[] = [];
  const skip = (file: string, reason: string) => {
    if (!onSkip) {
      throw new KubetrailError('KT_INPUT_READ', `cannot read ${file}: ${reason}`, { where: { file } });
    }
    onSkip({ file, reason });
  };
  for (const input of inputs) {
    if (input === '-') {
      out.push({ path: '-', size: undefined, gzip: false });
      continue;
    }
    let st;
    try {
      st = statSync(input);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' && !isLink(input))
        throw new KubetrailError('KT_INPUT_NOT_FOUND', `${input} does not exist`, { where: { file: input } });
      throw new KubetrailError('KT_INPUT_READ', `cannot read ${input}: ${unreadableReason(input, e)}`, {
        where: { file: input },
      });
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
        let s: Stats;
        try {
          s = statSync(p);
        } catch (err) {
          skip(p, unreadableReason(p, err as NodeJS.ErrnoException));
          continue;
        }
        if (s.isFile()) out.push({ path: p, size: s.size, gzip: /\.gz$/i.test(name) });
        else skip(p, `${kindOf(s)}, not a log file`);
      }
    } else {
      out.push({ path: input, size: st.size, gzip: /\.gz$/i.test(input) });
    }
  }
  return out;
}
