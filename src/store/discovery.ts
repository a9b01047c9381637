// The discovery file of a running server: how a CLI finds the kubetrail server that holds a DuckDB store
// file, so that it can read through the server while the server holds the file's lock.
//
// `<db>.server.json` beside the store (the db path with symlinks resolved) holds the server's loopback URL,
// its process id, the store it holds, a random local credential (valid only for the server's local store
// endpoint, never written to the token file) and, with TLS, the SHA-256 fingerprint of its certificate.
// It is written atomically with mode 0600 and removed when the server stops. A reader trusts it only when
// it is a regular file owned by the reader's user and readable by nobody else.
import { randomBytes } from 'node:crypto';
import { lstatSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const DISCOVERY_SUFFIX = '.server.json';

const discoverySchema = z.object({
  version: z.literal(1),
  url: z.string().regex(/^https?:\/\/[^/?#@]+$/),
  pid: z.number().int().positive(),
  db: z.string().min(1),
  credential: z.string().regex(/^[A-Za-z0-9_-]{32,128}$/),
  tlsCertSha256: z.string().optional(),
  startedAt: z.string(),
});

export type Discovery = z.infer<typeof discoverySchema>;

export type DiscoveryRead =
  | { kind: 'absent'; file: string }
  | { kind: 'unusable'; file: string; reason: string }
  | { kind: 'found'; file: string; discovery: Discovery };

/** The store file with symlinks resolved (as given, made absolute, when it does not exist yet). */
export function canonicalDbPath(db: string): string {
  const abs = path.resolve(db);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Where the discovery file of the server holding `db` is. */
export function discoveryFileFor(db: string): string {
  return `${canonicalDbPath(db)}${DISCOVERY_SUFFIX}`;
}

/** Reads the discovery file beside `db`, refusing one another user could have written or can read. */
export function readDiscovery(db: string): DiscoveryRead {
  const file = discoveryFileFor(db);
  let st;
  try {
    st = lstatSync(file);
  } catch {
    return { kind: 'absent', file };
  }
  if (!st.isFile()) return { kind: 'unusable', file, reason: 'it is not a regular file' };
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    return { kind: 'unusable', file, reason: `it belongs to user id ${st.uid}, not ${uid}` };
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0)
    return {
      kind: 'unusable',
      file,
      reason: `its mode is ${(st.mode & 0o777).toString(8)}; it must be readable by its owner only (600)`,
    };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    return { kind: 'unusable', file, reason: `it is not valid JSON (${(err as Error).message})` };
  }
  const r = discoverySchema.safeParse(parsed);
  if (!r.success) return { kind: 'unusable', file, reason: 'it is not a kubetrail discovery file' };
  return { kind: 'found', file, discovery: r.data };
}

/** Whether a process with this id exists (a process of another user counts). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Writes the discovery file atomically, readable by its owner only. */
export function writeDiscovery(file: string, discovery: Discovery): void {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(discovery, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw err;
  }
}

/** Removes the discovery file if it is still the one with this credential (not a newer server's). */
export function removeDiscovery(file: string, credential: string): void {
  try {
    const current = JSON.parse(readFileSync(file, 'utf8')) as { credential?: unknown };
    if (current.credential === credential) unlinkSync(file);
  } catch {
    // absent or unreadable: nothing of ours to remove
  }
}
