// Data key files: the format, reading one (refusing a file that group or others may read), writing a new
// one (mode 0600, never over an existing file), and the one resolver that says which key a command uses:
// --key-file FILE, else KUBETRAIL_KEY_FILE, else encryption.keyFile from the configuration, else none.
//
// Format: text; lines starting with `#` and blank lines are ignored; the one remaining line is the
// 32-byte key in base64 (as `openssl rand -base64 32` prints it) or in hex (`openssl rand -hex 32`).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { KubetrailError } from '../core/errors.js';
import { DATA_KEY_BYTES, DataKey } from './cipher.js';

/** The environment variable naming the data key file. */
export const KEY_FILE_ENV = 'KUBETRAIL_KEY_FILE';

function keyFileError(file: string, message: string, hint?: string, cause?: unknown): KubetrailError {
  return new KubetrailError('KT_KEY_FILE', message, {
    where: { file },
    ...(hint === undefined ? {} : { hint }),
    ...(cause === undefined ? {} : { cause }),
  });
}

/** The key bytes in a key file's text; undefined when the text holds no valid key. */
export function parseKeyText(text: string): Buffer | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length !== 1) return undefined;
  const line = lines[0]!;
  if (/^[0-9a-fA-F]{64}$/.test(line)) return Buffer.from(line, 'hex');
  if (/^[A-Za-z0-9+/]{43}=$/.test(line)) {
    const bytes = Buffer.from(line, 'base64');
    return bytes.length === DATA_KEY_BYTES ? bytes : undefined;
  }
  return undefined;
}

/** The text of a key file for a key. */
export function formatKeyText(key: DataKey): string {
  return (
    `# kubetrail data key ${key.id} (AES-256). Keep it secret and keep a copy off this machine:\n` +
    `# without it the encrypted events cannot be read by anyone.\n` +
    `${key.exportBytes().toString('base64')}\n`
  );
}

/** Reads a data key file; refuses a missing, malformed or group/other-readable file (KT_KEY_FILE). */
export function loadDataKey(file: string): DataKey {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw keyFileError(
      file,
      code === 'ENOENT' ? `no such key file: ${file}` : `cannot read the key file: ${(err as Error).message}`,
      code === 'ENOENT' ? 'Check the path, or make a key with `kubetrail key create --out FILE`.' : undefined,
      err,
    );
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0)
    throw keyFileError(
      file,
      `the key file ${file} may be read by group or others (mode ${(mode & 0o777).toString(8).padStart(3, '0')})`,
      `Run \`chmod 600 ${file}\`; the key must be readable by its owner only.`,
    );
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw keyFileError(file, `cannot read the key file: ${(err as Error).message}`, undefined, err);
  }
  const bytes = parseKeyText(text);
  if (!bytes)
    throw keyFileError(
      file,
      `the key file ${file} does not hold a ${DATA_KEY_BYTES}-byte key (one line of base64 or hex)`,
    );
  return DataKey.fromBytes(bytes);
}

/** Writes a new random data key to `out` (mode 0600, never over an existing file); returns the key. */
export function createDataKeyFile(out: string): DataKey {
  const key = DataKey.generate();
  try {
    writeFileSync(out, formatKeyText(key), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new KubetrailError('KT_OUTPUT_EXISTS', `${out} already exists: a key is never overwritten`, {
        where: { file: out },
        hint: 'choose another --out; removing an old data key makes the data sealed with it unreadable',
      });
    throw new KubetrailError('KT_OUTPUT_WRITE', `cannot write the key: ${(err as Error).message}`, {
      where: { file: out },
    });
  }
  return key;
}

/** Where a command's data key may come from, in order of precedence. */
export interface DataKeySources {
  /** --key-file FILE */
  flag?: string | undefined;
  /** The environment (KUBETRAIL_KEY_FILE is read from it). */
  env?: NodeJS.ProcessEnv | undefined;
  /** encryption.keyFile from the configuration, already resolved against the configuration's folder. */
  config?: string | undefined;
}

/** The key file a command uses, and where it was named; undefined when none is. */
export function resolveKeyFile(
  sources: DataKeySources,
): { file: string; from: '--key-file' | typeof KEY_FILE_ENV | 'encryption.keyFile' } | undefined {
  if (sources.flag) return { file: sources.flag, from: '--key-file' };
  const env = sources.env?.[KEY_FILE_ENV];
  if (env) return { file: env, from: KEY_FILE_ENV };
  if (sources.config) return { file: sources.config, from: 'encryption.keyFile' };
  return undefined;
}

/** The data key a command uses (see resolveKeyFile), loaded; undefined when no key is configured. */
export function resolveDataKey(sources: DataKeySources): DataKey | undefined {
  const found = resolveKeyFile(sources);
  return found ? loadDataKey(found.file) : undefined;
}
