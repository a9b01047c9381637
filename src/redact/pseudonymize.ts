// Pseudonymization of personal data with a keyed HMAC: user names, e-mail addresses and source IPs are
// replaced by stable pseudonyms (the same input and key always give the same pseudonym), so that counting,
// timelines and detection rules keep working while the real identities stay out of the store. System
// identities (configurable) and private addresses are kept: they name machinery, not people.
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';

export interface PseudonymizeOptions {
  users: boolean;
  emails: boolean;
  sourceIPs: boolean;
  /** User names kept as they are: exact names or globs with `*` (default: system and cloud identities). */
  keepUsers: readonly string[];
  /** Keep private, loopback and link-local addresses (cluster machinery) as they are. */
  keepPrivateIPs: boolean;
  /** Keep the domain of e-mail addresses (organizations are not persons). */
  keepEmailDomains: boolean;
}

export const DEFAULT_KEEP_USERS: readonly string[] = ['system:*', 'eks:*', '*@*.iam.gserviceaccount.com'];

const EMAIL = /[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})/g;
const PSEUDONYM = /^u-[0-9a-f]{12}(?:@|$)/;
const CACHE_LIMIT = 50_000;

function globToRegex(glob: string): RegExp {
  const body = glob
    .split('*')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

function isPrivateIPv4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number];
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254) ||
    (a === 100 && b >= 64 && b <= 127) ||
    a === 0
  );
}

function isPrivateIPv6(ip: string): boolean {
  const l = ip.toLowerCase();
  return l === '::1' || l === '::' || /^f[cd]/.test(l) || /^fe[89ab]/.test(l);
}

export class Pseudonymizer {
  private readonly key: Buffer;
  private readonly opts: PseudonymizeOptions;
  private readonly keep: RegExp[];
  private readonly cache = new Map<string, string>();

  constructor(key: Buffer, opts: PseudonymizeOptions) {
    this.key = key;
    this.opts = opts;
    this.keep = opts.keepUsers.map(globToRegex);
  }

  get options(): PseudonymizeOptions {
    return this.opts;
  }

  private hash(kind: string, value: string, hexChars: number): string {
    const k = `${kind}\u0000${value}`;
    let h = this.cache.get(k);
    if (h === undefined) {
      h = createHmac('sha256', this.key).update(k).digest('hex');
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(k, h);
    }
    return h.slice(0, hexChars);
  }

  /** Whether a user name is kept as it is (a system identity, an empty name, or already a pseudonym). */
  keepsUser(name: string): boolean {
    return name === '' || PSEUDONYM.test(name) || this.keep.some((r) => r.test(name));
  }

  /** The pseudonym of a user name; e-mail-shaped names keep their domain when so configured. */
  user(name: string): string {
    if (this.keepsUser(name)) return name;
    const at = name.lastIndexOf('@');
    if (at > 0 && /^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(name.slice(at + 1))) return this.email(name);
    return `u-${this.hash('user', name, 12)}`;
  }

  /** The pseudonym of an e-mail address: `u-<hash>@domain` (or `@pseudonym.invalid`). */
  email(address: string): string {
    if (this.keepsUser(address)) return address;
    const at = address.lastIndexOf('@');
    const domain = this.opts.keepEmailDomains ? address.slice(at + 1) : 'pseudonym.invalid';
    return `u-${this.hash('user', address.toLowerCase(), 12)}@${domain}`;
  }

  /** The pseudonym of an IP address, in a reserved range of the same family; private ones may be kept. */
  ip(address: string): string {
    let v = address;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(v);
    if (mapped) v = mapped[1]!;
    const family = isIP(v);
    if (family === 0) return `u-${this.hash('ip', address, 12)}`;
    if (family === 4) {
      if (v.startsWith('240.')) return address;
      if (this.opts.keepPrivateIPs && isPrivateIPv4(v)) return address;
      const h = this.hash('ip', v, 6);
      return `240.${parseInt(h.slice(0, 2), 16)}.${parseInt(h.slice(2, 4), 16)}.${parseInt(h.slice(4, 6), 16)}`;
    }
    if (v.toLowerCase().startsWith('2001:db8:')) return address;
    if (this.opts.keepPrivateIPs && isPrivateIPv6(v)) return address;
    const h = this.hash('ip', v.toLowerCase(), 24);
    return `2001:db8:${h.match(/.{4}/g)!.join(':')}`;
  }

  /** Replaces e-mail addresses (when enabled) and the quoted user names given, inside free text. */
  text(s: string, users: ReadonlyMap<string, string>): string {
    let out = s;
    if (this.opts.emails && out.includes('@')) out = out.replace(EMAIL, (m) => this.email(m));
    for (const [from, to] of users) {
      if (from !== to && out.includes(from)) out = out.split(`"${from}"`).join(`"${to}"`);
    }
    return out;
  }
}
