// The manifest of an evidence bundle: what was asked (filter, time range, the command that gives the same
// bundle), by which tool, what the bundle holds (counts, and each member's size and SHA-256), and who
// signed it (the Ed25519 public key and its fingerprint). `manifest.sig` holds the signature over the
// manifest's exact bytes, so every member is covered through its digest. Read back with a schema: a
// bundle is input like any other.
import { sign, verify, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { fingerprint, publicPem } from './keys.js';

export const BUNDLE_FORMAT = 'kubetrail-bundle';
export const BUNDLE_VERSION = 1;
export const MANIFEST = 'manifest.json';
export const SIGNATURE = 'manifest.sig';
export const EVENTS = 'events.ndjson';
export const HISTORIES = 'histories.ndjson';
export const ALERTS = 'alerts.ndjson';
/** Data members, in the order they are written after the manifest and its signature. */
export const DATA_MEMBERS = [EVENTS, HISTORIES, ALERTS] as const;

const member = z.strictObject({
  name: z.enum(DATA_MEMBERS),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits'),
  records: z.number().int().min(0),
});

export const manifestSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  created: z.string(),
  tool: z.strictObject({ name: z.string(), version: z.string() }),
  request: z.strictObject({
    filter: z.string(),
    since: z.string().optional(),
    until: z.string().optional(),
    /** The kubetrail command that writes the same bundle. */
    command: z.string(),
    /** For an export through the API: who asked and the scope their token was limited to. */
    requestedBy: z.string().optional(),
    scope: z.string().optional(),
    bodies: z.boolean().optional(),
  }),
  counts: z.strictObject({
    events: z.number().int().min(0),
    objects: z.number().int().min(0),
    alerts: z.number().int().min(0),
  }),
  /** Set when more objects were touched than the bundle holds histories for. */
  objectsCapped: z.boolean().optional(),
  members: z.array(member).max(DATA_MEMBERS.length),
  signer: z.strictObject({
    algorithm: z.literal('ed25519'),
    publicKey: z.string().max(4096),
    fingerprint: z.string(),
    /** A key made for this bundle alone: the signature shows the bundle is whole, not who made it. */
    oneTime: z.boolean(),
  }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type MemberInfo = z.infer<typeof member>;

/** The signer block for a key. */
export function signerOf(key: KeyObject, oneTime: boolean): Manifest['signer'] {
  return { algorithm: 'ed25519', publicKey: publicPem(key), fingerprint: fingerprint(key), oneTime };
}

/** The manifest's bytes as stored (what the signature covers). */
export function manifestBytes(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`, 'utf8');
}

/** The signature file's content: the Ed25519 signature of the manifest's bytes, in base64, and a newline. */
export function signManifest(bytes: Buffer, key: KeyObject): Buffer {
  return Buffer.from(`${sign(null, bytes, key).toString('base64')}\n`, 'ascii');
}

/** Whether `sig` (the signature file's content) is a valid signature of `bytes` by `key`. */
export function signatureValid(bytes: Buffer, sig: Buffer, key: KeyObject): boolean {
  const text = sig.toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]+=*$/.test(text)) return false;
  try {
    return verify(null, bytes, key, Buffer.from(text, 'base64'));
  } catch {
    return false;
  }
}
