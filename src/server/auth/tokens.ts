// API tokens: who may use the HTTP API and with which role, scope and cluster. Tokens are kept in
// DATADIR/tokens.json as SHA-256 hashes only (the token itself is shown once, when created); the file is
// written atomically with mode 0600 and re-read when it changes, so `kubetrail token` can manage tokens
// while the server runs.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { KubetrailError } from '../../core/errors.js';
import { parseQuery } from '../../query/index.js';

export const ROLES = ['admin', 'analyst', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenRecord {
  name: string;
  role: Role;
  /** Filter expression limiting the events a viewer sees. */
  scope?: string;
  /** Whether request and response bodies are shown (viewers only; other roles always see them). */
  bodies: boolean;
  /** The cluster events posted with an ingest token are tagged with. */
  cluster?: string;
  /** RFC 3339 creation time. */
  created: string;
  /** Hex SHA-256 of the token. */
  sha256: string;
}

/** What a token list shows: everything but the hash. */
export type TokenInfo = Omit<TokenRecord, 'sha256'>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,62}$/;
const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

const recordSchema = z.object({
  name: z.string().regex(NAME),
  role: z.enum(ROLES),
  scope: z.string().optional(),
  bodies: z.boolean().default(false),
  cluster: z.string().regex(CLUSTER).optional(),
  created: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
const fileSchema = z.object({ version: z.literal(1), tokens: z.array(recordSchema) });

export interface NewToken {
  role: Role;
  name?: string;
  scope?: string;
  bodies?: boolean;
  cluster?: string;
}

export const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Checks a new token's settings; throws KT_USAGE naming the option at fault. */
export function validateNewToken(t: NewToken): void {
  const bad = (path: string, message: string, hint?: string): never => {
    throw new KubetrailError('KT_USAGE', message, { where: { path }, ...(hint ? { hint } : {}) });
  };
  if (!(ROLES as readonly string[]).includes(t.role))
    bad('--role', `--role must be one of ${ROLES.join(', ')}, not ${JSON.stringify(t.role)}`);
  if (t.name !== undefined && !NAME.test(t.name))
    bad('--name', `--name must be 1-63 letters, digits, ".", "_", "@" or "-", not ${JSON.stringify(t.name)}`);
  if (t.role === 'viewer') {
    if (t.scope === undefined || t.scope.trim() === '')
      bad(
        '--scope',
        'a viewer token needs --scope: the filter its events must match',
        "e.g. --scope 'ns:(team-a OR team-b)'; use --scope '*' to allow every event",
      );
    parseQuery(t.scope!);
  } else if (t.scope !== undefined) {
    bad('--scope', `--scope applies to viewer tokens; a ${t.role} token sees every event`);
  }
  if (t.bodies && t.role !== 'viewer')
    bad('--bodies', `--bodies applies to viewer tokens; a ${t.role} token always sees bodies`);
  if (t.cluster !== undefined) {
    if (t.role !== 'ingest') bad('--cluster', '--cluster applies to ingest tokens');
    if (!CLUSTER.test(t.cluster))
      bad(
        '--cluster',
        `--cluster must be 1-63 letters, digits, ".", "_" or "-", not ${JSON.stringify(t.cluster)}`,
      );
  }
}

export class TokenStore {
  private records: TokenRecord[] = [];
  private stamp = '';
  private checkedAt = 0;

  /**
   * @param file the tokens file (DATADIR/tokens.json)
   * @param recheckMs how often at most the file's modification is checked
   */
  constructor(
    readonly file: string,
    private readonly recheckMs = 250,
  ) {
    this.reload(true);
  }

  static forDataDir(dataDir: string, recheckMs?: number): TokenStore {
    return new TokenStore(path.join(path.resolve(dataDir), 'tokens.json'), recheckMs);
  }

  private fileStamp(): string {
    try {
      const st = statSync(this.file);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw err;
    }
  }

  /** Re-reads the file when it changed since it was last read. */
  private reload(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < this.recheckMs) return;
    this.checkedAt = now;
    const stamp = this.fileStamp();
    if (stamp === this.stamp) return;
    if (stamp === 'absent') {
      this.records = [];
      this.stamp = stamp;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new KubetrailError('KT_CONFIG_READ', `cannot read ${this.file}: ${(err as Error).message}`, {
        where: { file: this.file },
      });
    }
    const r = fileSchema.safeParse(parsed);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new KubetrailError('KT_CONFIG_INVALID', `${this.file} is not a token file: ${issue.message}`, {
        where: { file: this.file, path: issue.path.join('.') },
      });
    }
    this.records = r.data.tokens.map((t) => ({
      name: t.name,
      role: t.role,
      bodies: t.bodies,
      created: t.created,
      sha256: t.sha256,
      ...(t.scope !== undefined ? { scope: t.scope } : {}),
      ...(t.cluster !== undefined ? { cluster: t.cluster } : {}),
    }));
    this.stamp = stamp;
  }

  private save(records: TokenRecord[]): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ version: 1, tokens: records }, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
    this.records = records;
    this.stamp = this.fileStamp();
    this.checkedAt = Date.now();
  }

  /** True when at least one token exists. */
  get any(): boolean {
    this.reload();
    return this.records.length > 0;
  }

  list(): TokenInfo[] {
    this.reload(true);
    return this.records.map(({ sha256: _h, ...rest }) => rest);
  }

  get(name: string): TokenRecord | undefined {
    this.reload();
    return this.records.find((r) => r.name === name);
  }

  /** Creates a token; returns it (shown once) and its record. With `replace`, a token of that name is replaced. */
  create(t: NewToken, opts: { replace?: boolean } = {}): { token: string; record: TokenRecord } {
    validateNewToken(t);
    this.reload(true);
    const name = t.name ?? `${t.role}-${randomBytes(3).toString('hex')}`;
    const existing = this.records.find((r) => r.name === name);
    if (existing && !opts.replace)
      throw new KubetrailError('KT_USAGE', `a token named ${JSON.stringify(name)} exists already`, {
        where: { path: '--name' },
        hint: `choose another --name, or revoke it first: kubetrail token revoke ${name}`,
      });
    const token = `kt_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      name,
      role: t.role,
      bodies: t.bodies ?? false,
      created: new Date().toISOString(),
      sha256: sha256Hex(token),
      ...(t.scope !== undefined ? { scope: t.scope } : {}),
      ...(t.cluster !== undefined ? { cluster: t.cluster } : {}),
    };
    this.save([...this.records.filter((r) => r.name !== name), record]);
    return { token, record };
  }

  /** Removes a token; false when none has that name. */
  revoke(name: string): boolean {
    this.reload(true);
    if (!this.records.some((r) => r.name === name)) return false;
    this.save(this.records.filter((r) => r.name !== name));
    return true;
  }

  /** The record of a presented token, compared by hash in constant time against every entry. */
  verify(token: string): TokenRecord | undefined {
    this.reload();
    const h = Buffer.from(sha256Hex(token), 'hex');
    let found: TokenRecord | undefined;
    for (const r of this.records) {
      if (timingSafeEqual(Buffer.from(r.sha256, 'hex'), h) && !found) found = r;
    }
    return found;
  }
}
