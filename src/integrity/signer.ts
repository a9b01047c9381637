// What signs the digest chain: an Ed25519 private key in a PEM file (src/bundle/keys.ts), a command that
// signs (a KMS or an HSM: it reads the message on stdin and prints the base64 signature), or the default
// key, made on first use (mode 0600, its public key beside it). Each signer checks itself once when it is
// made, by signing a probe and verifying it with the public key, so that a broken key or command stops a
// start instead of leaving the chain unsigned.
import { spawn } from 'node:child_process';
import { sign as edSign, verify as edVerify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { createKeyFiles, fingerprint, loadPublicKey, loadSigningKey } from '../bundle/keys.js';
import { KubetrailError } from '../core/errors.js';

export interface Signer {
  /** Fingerprint of the public key (`sha256:` hex), written in each sign record. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
  /** Where the key is, for messages (a file, or `command`). */
  readonly where: string;
  /** The Ed25519 signature of the message. */
  sign(message: Buffer): Promise<Buffer>;
}

/** Ed25519 verification of a digest signature. */
export function verifySignature(message: Buffer, signature: Buffer, key: KeyObject): boolean {
  try {
    return edVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

function keyError(message: string, where?: string, cause?: unknown): KubetrailError {
  return new KubetrailError('KT_INTEGRITY_KEY', message, {
    ...(where ? { where: { file: where } } : {}),
    ...(cause !== undefined ? { cause } : {}),
  });
}

/** Signs with an Ed25519 key file (PEM). */
export function keyFileSigner(file: string, flag = 'integrity.signingKey'): Signer {
  let key: KeyObject;
  try {
    key = loadSigningKey(file, flag);
  } catch (err) {
    throw keyError((err as Error).message, file, err);
  }
  return { keyId: fingerprint(key), publicKey: key, where: file, sign: async (m) => edSign(null, m, key) };
}

/** The default signing key: `file`, made (with `file.pub`) when absent. */
export function defaultKeySigner(file: string): Signer {
  if (!existsSync(file)) {
    try {
      mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      createKeyFiles(file);
    } catch (err) {
      // Another process may have made it first.
      if (!existsSync(file))
        throw keyError(`cannot make the signing key: ${(err as Error).message}`, file, err);
    }
  }
  return keyFileSigner(file, 'the default signing key');
}

/** How long a sign command may take. */
const COMMAND_TIMEOUT_MS = 30_000;

/**
 * Signs by running a command (through `sh -c`): the message on its stdin, the base64 Ed25519 signature
 * on its stdout. The public key must be given so that each signature is checked before it is kept.
 */
export function commandSigner(command: string, publicKeyFile: string): Signer {
  let publicKey: KeyObject;
  try {
    publicKey = loadPublicKey(publicKeyFile, 'integrity.publicKey');
  } catch (err) {
    throw keyError((err as Error).message, publicKeyFile, err);
  }
  const sign = (message: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.length < 64 && err.push(c));
      child.stdin.on('error', () => undefined);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(keyError(`integrity.signCommand cannot run: ${e.message}`, undefined, e));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (code !== 0) {
          const why = signal ? `was stopped (${signal})` : `exited with status ${code}`;
          const text = Buffer.concat(err).toString('utf8').trim().slice(0, 500);
          reject(keyError(`integrity.signCommand ${why}${text ? `: ${text}` : ''}`));
          return;
        }
        const text = Buffer.concat(out).toString('utf8').trim();
        const sig = Buffer.from(text, 'base64');
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || sig.length !== 64) {
          reject(keyError('integrity.signCommand did not print a base64 Ed25519 signature (64 bytes)'));
          return;
        }
        resolve(sig);
      });
      child.stdin.end(message);
    });
  return {
    keyId: fingerprint(publicKey),
    publicKey,
    where: 'integrity.signCommand',
    sign: async (m) => {
      const sig = await sign(m);
      if (!verifySignature(m, sig, publicKey))
        throw keyError(
          'integrity.signCommand printed a signature that integrity.publicKey does not verify',
          publicKeyFile,
        );
      return sig;
    },
  };
}

/** Signs a probe and checks it with the public key: a signer that cannot sign fails here. */
export async function checkSigner(signer: Signer): Promise<void> {
  const probe = Buffer.from('kubetrail-digest-signer-check\n');
  const sig = await signer.sign(probe);
  if (!verifySignature(probe, sig, signer.publicKey))
    throw keyError(`${signer.where}: the signature does not verify with its public key`);
}
