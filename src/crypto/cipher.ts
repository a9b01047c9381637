// The data key and the cipher that seals event content at rest: AES-256-GCM from node:crypto with a
// random 96-bit nonce per message, optional additional authenticated data (AAD) that binds a sealed value
// to its place (a row's identity, a file's name), and keyed hashes under sub-keys derived from the data
// key (HKDF-SHA256) so that the data key itself is only ever used for one purpose.
//
// Text form:   kt1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>
// Binary form: "KT1" ‖ key id (8 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16)
// The key id is the first 16 hex digits of SHA-256 of the key: it names the key (so a wrong key is told
// apart from damaged data) without revealing it. The key bytes live in a KeyObject and are never logged.
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { KubetrailError } from '../core/errors.js';

/** Bytes in a data key (AES-256). */
export const DATA_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const ID_BYTES = 8;
const TEXT_PREFIX = 'kt1:';
const BINARY_MAGIC = Buffer.from('KT1', 'latin1');

/** The id of a key: the first 16 hex digits of the SHA-256 of its bytes. */
function keyIdOf(bytes: Buffer): string {
  return createHash('sha256')
    .update(bytes)
    .digest('hex')
    .slice(0, ID_BYTES * 2);
}

function mismatch(message: string, cause?: unknown): KubetrailError {
  return new KubetrailError('KT_KEY_MISMATCH', message, cause === undefined ? {} : { cause });
}

export class DataKey {
  /** First 16 hex digits of SHA-256 of the key: names the key, reveals nothing of it. */
  readonly id: string;
  readonly #key: KeyObject;
  readonly #idBytes: Buffer;

  private constructor(bytes: Buffer) {
    if (bytes.length !== DATA_KEY_BYTES)
      throw new KubetrailError(
        'KT_KEY_FILE',
        `a data key is ${DATA_KEY_BYTES} bytes; this one is ${bytes.length}`,
      );
    this.id = keyIdOf(bytes);
    this.#idBytes = Buffer.from(this.id, 'hex');
    this.#key = createSecretKey(Buffer.from(bytes));
  }

  /** A key from its 32 bytes (the bytes are copied). */
  static fromBytes(bytes: Buffer): DataKey {
    return new DataKey(bytes);
  }

  /** A new random key. */
  static generate(): DataKey {
    return new DataKey(randomBytes(DATA_KEY_BYTES));
  }

  /** The raw key bytes, for writing a key file only. */
  exportBytes(): Buffer {
    return this.#key.export();
  }

  /** Seals text: `kt1:<key id>:<base64>`. The same AAD must be given to open it. */
  sealText(plain: string, aad?: string): string {
    const body = this.#seal(Buffer.from(plain, 'utf8'), aad);
    return `${TEXT_PREFIX}${this.id}:${body.toString('base64')}`;
  }

  /** Opens text sealed by sealText; a wrong key, wrong AAD or damaged text throws KT_KEY_MISMATCH. */
  openText(sealed: string, aad?: string): string {
    if (!isSealed(sealed)) throw mismatch('the value is not sealed text (kt1:…)');
    const idEnd = TEXT_PREFIX.length + ID_BYTES * 2;
    const id = sealed.slice(TEXT_PREFIX.length, idEnd);
    this.#checkId(id);
    const body = Buffer.from(sealed.slice(idEnd + 1), 'base64');
    return this.#open(body, aad).toString('utf8');
  }

  /** Seals bytes into the binary form. */
  sealBytes(plain: Buffer, aad?: string): Buffer {
    return Buffer.concat([BINARY_MAGIC, this.#idBytes, this.#seal(plain, aad)]);
  }

  /** Opens bytes sealed by sealBytes; a wrong key, wrong AAD or damaged data throws KT_KEY_MISMATCH. */
  openBytes(sealed: Buffer, aad?: string): Buffer {
    if (!isSealedBytes(sealed)) throw mismatch('the data is not sealed (no KT1 header)');
    const id = sealed.subarray(BINARY_MAGIC.length, BINARY_MAGIC.length + ID_BYTES).toString('hex');
    this.#checkId(id);
    return this.#open(sealed.subarray(BINARY_MAGIC.length + ID_BYTES), aad);
  }

  /**
   * A keyed hash (HMAC-SHA256, hex) of `data` under a sub-key derived from the data key for `purpose`
   * (HKDF-SHA256, info = purpose): equal inputs give equal hashes under one key, and the hash reveals
   * nothing without the key.
   */
  mac(purpose: string, data: string | Buffer): string {
    return createHmac('sha256', this.#subkey(purpose)).update(data).digest('hex');
  }

  /** Keeps the key out of logs and inspection. */
  toJSON(): { id: string } {
    return { id: this.id };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `DataKey(${this.id})`;
  }

  readonly #subkeys = new Map<string, Buffer>();

  #subkey(purpose: string): Buffer {
    let k = this.#subkeys.get(purpose);
    if (!k) {
      k = Buffer.from(hkdfSync('sha256', this.#key, Buffer.alloc(0), `kubetrail ${purpose}`, 32));
      this.#subkeys.set(purpose, k);
    }
    return k;
  }

  #checkId(id: string): void {
    if (id !== this.id) throw mismatch(`the data was sealed with key ${id}, and the key given is ${this.id}`);
  }

  #seal(plain: Buffer, aad: string | undefined): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const c = createCipheriv('aes-256-gcm', this.#key, nonce);
    if (aad !== undefined) c.setAAD(Buffer.from(aad, 'utf8'));
    const body = Buffer.concat([c.update(plain), c.final()]);
    return Buffer.concat([nonce, body, c.getAuthTag()]);
  }

  #open(body: Buffer, aad: string | undefined): Buffer {
    if (body.length < NONCE_BYTES + TAG_BYTES) throw mismatch('the sealed data is truncated');
    const nonce = body.subarray(0, NONCE_BYTES);
    const tag = body.subarray(body.length - TAG_BYTES);
    const d = createDecipheriv('aes-256-gcm', this.#key, nonce);
    if (aad !== undefined) d.setAAD(Buffer.from(aad, 'utf8'));
    d.setAuthTag(tag);
    try {
      return Buffer.concat([d.update(body.subarray(NONCE_BYTES, body.length - TAG_BYTES)), d.final()]);
    } catch (err) {
      throw mismatch(
        `the sealed data does not authenticate under key ${this.id}: it was changed, or sealed for another place`,
        err,
      );
    }
  }
}

/** Whether text is in the sealed text form (`kt1:<16 hex>:…`). */
export function isSealed(text: string): boolean {
  return /^kt1:[0-9a-f]{16}:/.test(text);
}

/** Whether bytes start with the sealed binary header. */
export function isSealedBytes(data: Buffer): boolean {
  return (
    data.length >= BINARY_MAGIC.length + ID_BYTES &&
    data.subarray(0, BINARY_MAGIC.length).equals(BINARY_MAGIC)
  );
}

/** The id of the key that sealed a text, or undefined when the text is not sealed. */
export function sealedKeyId(text: string): string | undefined {
  return isSealed(text) ? text.slice(TEXT_PREFIX.length, TEXT_PREFIX.length + ID_BYTES * 2) : undefined;
}
