// Checking an evidence bundle: the manifest is read and checked against its schema, its signature is
// checked with the public key it names (and, when one is given, against that key: only then does a valid
// signature say who made the bundle), and every data member is read through and compared with the size
// and SHA-256 the manifest gives it. Each problem is a finding that names the member or the part at
// fault; a file that is not a bundle at all is an error (KT_BUNDLE_READ).
import { createHash, type KeyObject } from 'node:crypto';
import { KubetrailError } from '../core/errors.js';
import { fingerprint, publicKeyOf } from './keys.js';
import {
  DATA_MEMBERS,
  MANIFEST,
  SIGNATURE,
  manifestSchema,
  signatureValid,
  type Manifest,
} from './manifest.js';
import { readTarGz, type MemberHandler } from './tar.js';

export interface Finding {
  /** The member or part at fault: a member name, `manifest`, `signature` or `signer`. */
  part: string;
  message: string;
}

export interface VerifyResult {
  manifest?: Manifest;
  findings: Finding[];
  /** What the check establishes, for people (not a finding). */
  notes: string[];
  /** The signing key's fingerprint, when the manifest names one. */
  signer?: string;
}

const MAX_MANIFEST = 1024 * 1024;

/** Reads a member whole, up to `max` bytes (more is a finding, not a crash). */
function collect(max: number, done: (data: Buffer | undefined) => void): MemberHandler {
  const parts: Buffer[] = [];
  let size = 0;
  return {
    data(chunk) {
      size += chunk.length;
      if (size <= max) parts.push(Buffer.from(chunk));
    },
    end() {
      done(size <= max ? Buffer.concat(parts) : undefined);
    },
  };
}

/** Verifies a bundle file; `publicKey` is the key it must be signed with. */
export async function verifyBundle(file: string, publicKey?: KeyObject): Promise<VerifyResult> {
  const findings: Finding[] = [];
  const notes: string[] = [];
  let manifestRaw: Buffer | undefined;
  let sigRaw: Buffer | undefined;
  const seen = new Map<string, { bytes: number; sha256: string }>();
  const order: string[] = [];
  await readTarGz(file, (name) => {
    order.push(name);
    if (seen.has(name) || (name === MANIFEST && manifestRaw) || (name === SIGNATURE && sigRaw)) {
      findings.push({ part: name, message: `member ${name} appears more than once` });
    }
    if (name === MANIFEST)
      return collect(MAX_MANIFEST, (d) => {
        if (d === undefined)
          findings.push({ part: 'manifest', message: `the manifest is larger than ${MAX_MANIFEST} bytes` });
        manifestRaw = d ?? Buffer.alloc(0);
      });
    if (name === SIGNATURE)
      return collect(4096, (d) => {
        sigRaw = d ?? Buffer.alloc(0);
      });
    const hash = createHash('sha256');
    let bytes = 0;
    return {
      data(chunk) {
        hash.update(chunk);
        bytes += chunk.length;
      },
      end() {
        seen.set(name, { bytes, sha256: hash.digest('hex') });
      },
    };
  });
  if (!manifestRaw) {
    findings.push({
      part: 'manifest',
      message: `${MANIFEST} is missing: this is not a kubetrail bundle, or it was removed`,
    });
    return { findings, notes };
  }
  let manifest: Manifest | undefined;
  try {
    const parsed = manifestSchema.safeParse(JSON.parse(manifestRaw.toString('utf8')));
    if (parsed.success) manifest = parsed.data;
    else {
      const issue = parsed.error.issues[0]!;
      findings.push({
        part: 'manifest',
        message: `the manifest does not match the bundle format at ${issue.path.map(String).join('.') || 'its top'}: ${issue.message}`,
      });
    }
  } catch (err) {
    findings.push({ part: 'manifest', message: `the manifest is not JSON: ${(err as Error).message}` });
  }
  if (!manifest) return { findings, notes };

  // The signature, with the key the manifest names.
  let embedded: KeyObject | undefined;
  try {
    embedded = publicKeyOf(manifest.signer.publicKey, "the manifest's signer.publicKey");
  } catch (err) {
    findings.push({ part: 'signer', message: (err as Error).message });
  }
  const signer = embedded ? fingerprint(embedded) : undefined;
  if (embedded && signer !== manifest.signer.fingerprint)
    findings.push({
      part: 'signer',
      message: `the signer's fingerprint ${manifest.signer.fingerprint} is not that of the key the manifest holds (${signer})`,
    });
  if (!sigRaw)
    findings.push({
      part: 'signature',
      message: `${SIGNATURE} is missing: the bundle is unsigned or the signature was removed`,
    });
  else if (embedded && !signatureValid(manifestRaw, sigRaw, embedded))
    findings.push({
      part: 'signature',
      message: 'the signature does not match the manifest: the manifest was edited or the signature replaced',
    });
  if (publicKey) {
    const want = fingerprint(publicKey);
    if (signer !== undefined && signer !== want)
      findings.push({
        part: 'signer',
        message: `the bundle is signed by ${signer}, not by the key given (${want})`,
      });
    else if (sigRaw && !signatureValid(manifestRaw, sigRaw, publicKey))
      findings.push({
        part: 'signature',
        message: 'the signature is not a signature of the manifest by the key given',
      });
  } else if (manifest.signer.oneTime) {
    notes.push(
      'signed with a one-time key made for this bundle: the signature shows the bundle is whole, not who made it',
    );
  } else {
    notes.push(
      `signed by ${manifest.signer.fingerprint}: give --public-key to check that this is the key you expect`,
    );
  }

  // Every member the manifest lists, as it lists it; nothing else.
  for (const m of manifest.members) {
    const got = seen.get(m.name);
    if (!got)
      findings.push({
        part: m.name,
        message: `member ${m.name} is listed in the manifest but missing from the bundle`,
      });
    else if (got.sha256 !== m.sha256 || got.bytes !== m.bytes)
      findings.push({
        part: m.name,
        message: `member ${m.name} does not match the manifest (${got.bytes} bytes, sha256 ${got.sha256.slice(0, 16)}…; the manifest says ${m.bytes} bytes, ${m.sha256.slice(0, 16)}…): it was edited`,
      });
  }
  for (const name of seen.keys()) {
    if (!manifest.members.some((m) => m.name === name))
      findings.push({ part: name, message: `member ${name} is not listed in the manifest: it was added` });
  }
  for (const name of DATA_MEMBERS)
    if (!manifest.members.some((m) => m.name === name))
      findings.push({ part: 'manifest', message: `the manifest does not list ${name}` });
  if (order[0] !== MANIFEST) notes.push(`the manifest is not the first member (found ${order[0] ?? 'none'})`);
  return { manifest, findings, notes, ...(signer ? { signer } : {}) };
}

/** Throws KT_BUNDLE_INVALID naming the first findings when a bundle does not verify. */
export function assertVerified(
  file: string,
  r: VerifyResult,
): asserts r is VerifyResult & { manifest: Manifest } {
  if (r.findings.length === 0 && r.manifest) return;
  const list = r.findings.slice(0, 3).map((f) => `${f.part}: ${f.message}`);
  throw new KubetrailError(
    'KT_BUNDLE_INVALID',
    `the bundle does not verify: ${list.join('; ')}${r.findings.length > 3 ? ` (and ${r.findings.length - 3} more)` : ''}`,
    {
      where: { file },
    },
  );
}
