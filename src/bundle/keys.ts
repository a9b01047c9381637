// Ed25519 keys for signing evidence bundles (node:crypto): reading a private key (PEM, PKCS#8, as
// `openssl genpkey -algorithm ed25519` writes it) or a public key (PEM, SPKI), making a key pair, and the
// fingerprint that names a public key (sha256 of its DER encoding). A key of another type is refused.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { KubetrailError } from '../core/errors.js';

function keyError(file: string, message: string): KubetrailError {
  return new KubetrailError('KT_BUNDLE_KEY', message, { where: { file } });
}

function readKeyFile(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new KubetrailError('KT_INPUT_NOT_FOUND', `${flag}: no such file: ${file}`, { where: { file } });
    throw keyError(file, `${flag}: cannot read the key: ${(err as Error).message}`);
  }
}

/** The private signing key in a PEM file; refuses any key that is not Ed25519. */
export function loadSigningKey(file: string, flag = '--signing-key'): KeyObject {
  const text = readKeyFile(file, flag);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: text, format: 'pem' });
  } catch {
    throw keyError(
      file,
      `${flag}: the file is not a PEM private key (a public key, or an encrypted key, cannot sign)`,
    );
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw keyError(file, `${flag}: the key is ${key.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519`);
  return key;
}

/** A public key from PEM text (a private key is accepted too: its public half is taken). */
export function publicKeyOf(text: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: text, format: 'pem' });
  } catch {
    throw keyError(where, `${where} is not a PEM public key`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw keyError(where, `${where} holds a ${key.asymmetricKeyType ?? 'non-Ed25519'} key, not Ed25519`);
  return key;
}

export function loadPublicKey(file: string, flag = '--public-key'): KeyObject {
  return publicKeyOf(readKeyFile(file, flag), file);
}

/** The public key as PEM (SPKI). */
export function publicPem(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'pem' }).toString();
}

/** `sha256:` and the hex digest of the public key's DER (SPKI) encoding. */
export function fingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

export function generateSigningKey(): KeyObject {
  return generateKeyPairSync('ed25519').privateKey;
}

/**
 * Writes a new private key (PEM, mode 0600, never over an existing file) and its public key beside it
 * (`FILE.pub`); returns the public key's fingerprint.
 */
export function createKeyFiles(out: string): { publicFile: string; fingerprint: string } {
  const key = generateSigningKey();
  const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicFile = `${out}.pub`;
  try {
    writeFileSync(out, pem, { flag: 'wx', mode: 0o600 });
    writeFileSync(publicFile, publicPem(key), { flag: 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new KubetrailError(
        'KT_OUTPUT_EXISTS',
        `${out} or ${publicFile} already exists: a key is never overwritten`,
        {
          where: { file: out },
          hint: 'choose another --out, or remove the old key yourself if it is no longer needed',
        },
      );
    throw new KubetrailError('KT_OUTPUT_WRITE', `cannot write the key: ${(err as Error).message}`, {
      where: { file: out },
    });
  }
  return { publicFile, fingerprint: fingerprint(key) };
}
