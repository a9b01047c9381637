// The key for keyed hashes and pseudonyms: whether a redaction configuration needs one, where it comes
// from (a file or an environment variable) and reading it, with a coded error when it is missing or short.
// The key itself is never logged or put in a message.
import { readFileSync } from 'node:fs';
import { KubetrailError } from '../core/errors.js';

/** Environment variable read for the key when the file names none. */
export const DEFAULT_KEY_ENV = 'KUBETRAIL_REDACT_KEY';
const MIN_KEY_BYTES = 16;

/** The parts of a redaction configuration that decide the key. */
export interface KeySettings {
  hashValues?: boolean | undefined;
  key?: { env?: string | undefined; file?: string | undefined } | undefined;
  pseudonymize?:
    | { users?: boolean | undefined; emails?: boolean | undefined; sourceIPs?: boolean | undefined }
    | undefined;
}

/** Where the key comes from, for messages. */
export function keySource(config: KeySettings): string {
  if (config.key?.file) return `the file ${config.key.file}`;
  return `the environment variable ${config.key?.env ?? DEFAULT_KEY_ENV}`;
}

/** Whether the configuration needs a key (keyed hashes or pseudonyms). */
export function needsKey(config: KeySettings): boolean {
  const pz = config.pseudonymize;
  return config.hashValues === true || Boolean(pz && (pz.users || pz.emails || pz.sourceIPs));
}

/** Reads the key, refusing one that is missing or shorter than MIN_KEY_BYTES. */
export function readKey(config: KeySettings, env: NodeJS.ProcessEnv): Buffer {
  let key: Buffer | undefined;
  if (config.key?.file) {
    try {
      key = Buffer.from(readFileSync(config.key.file, 'utf8').trim(), 'utf8');
    } catch (err) {
      throw new KubetrailError('KT_REDACT_KEY', `cannot read the redaction key from ${config.key.file}`, {
        where: { path: 'key.file' },
        cause: err,
      });
    }
  } else {
    const name = config.key?.env ?? DEFAULT_KEY_ENV;
    const v = env[name];
    if (v !== undefined && v !== '') key = Buffer.from(v, 'utf8');
  }
  if (!key || key.length === 0) {
    throw new KubetrailError(
      'KT_REDACT_KEY',
      `${config.hashValues ? 'hashValues' : 'pseudonymize'} needs a key, and ${keySource(config)} is not set`,
      { where: { path: config.key?.file ? 'key.file' : 'key.env' } },
    );
  }
  if (key.length < MIN_KEY_BYTES) {
    throw new KubetrailError(
      'KT_REDACT_KEY',
      `the redaction key from ${keySource(config)} is ${key.length} bytes; at least ${MIN_KEY_BYTES} are needed`,
      { where: { path: config.key?.file ? 'key.file' : 'key.env' } },
    );
  }
  return key;
}
