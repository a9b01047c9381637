// IP lists for detection rules: named sets of IPv4/IPv6 addresses and CIDR ranges read from files (threat
// intelligence, Tor exit nodes), one entry a line. A rule names a list with `ipList:` and matches when a
// source address of the event is in it; a list that is not configured matches nothing, so such rules
// are inert until a user points the list at a file. Files are re-read when their modification time or
// size changes (checked at a bounded interval), without a restart: a bad line is a warning with its
// file:line and is skipped, the rest of the file is used; a file that cannot be read keeps the previous
// contents.
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import { KubetrailError } from '../core/errors.js';
import type { EventRecord } from '../core/event.js';

/** List names: words, as rule ids and named lists are. */
export const IP_LIST_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
/** Largest list file read (a full threat feed of single addresses is a few MB). */
export const MAX_IP_LIST_BYTES = 64 * 1024 * 1024;
/** Longest line considered (a CIDR with a comment fits many times over). */
const MAX_LINE = 512;
/** Bad lines reported per read; the count of the rest is given. */
const MAX_WARNINGS = 20;

export interface IpListProblem {
  file: string;
  line: number;
  message: string;
}

/** An address as a number: IPv4 in 32 bits, IPv6 in 128 (IPv4-mapped IPv6 addresses count as IPv4). */
interface Addr {
  v6: boolean;
  n: bigint;
}

function parseV4(text: string): bigint {
  let n = 0n;
  for (const part of text.split('.')) n = (n << 8n) | BigInt(Number(part));
  return n;
}

/** Parses an address (no range); undefined when it is not one. */
export function parseAddress(text: string): Addr | undefined {
  if (isIPv4(text)) return { v6: false, n: parseV4(text) };
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  let tail: bigint[] = [];
  const lastColon = text.lastIndexOf(':');
  const v4Part = text.slice(lastColon + 1);
  if (v4Part.includes('.')) {
    const v4 = parseV4(v4Part);
    tail = [v4 >> 16n, v4 & 0xffffn];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => BigInt(parseInt(g, 16))));
  let words: bigint[];
  const dbl = head.indexOf('::');
  if (dbl >= 0) {
    const left = groups(head.slice(0, dbl));
    const right = [...groups(head.slice(dbl + 2)), ...tail];
    words = [...left, ...Array<bigint>(8 - left.length - right.length).fill(0n), ...right];
  } else words = [...groups(head), ...tail];
  let n = 0n;
  for (const w of words) n = (n << 16n) | w;
  // ::ffff:a.b.c.d is an IPv4 address as seen by a dual-stack socket.
  if (n >> 32n === 0xffffn) return { v6: false, n: n & 0xffffffffn };
  return { v6: true, n };
}

/**
 * A set of addresses and ranges, looked up by prefix length (a handful of lookups per address).
 * node:net's BlockList would check its rules one by one, too slow for feeds of many thousand addresses
 * checked against every event.
 */
export class IpSet {
  /** Per family: prefix length → network numbers (host bits cleared). */
  private readonly v4 = new Map<number, Set<bigint>>();
  private readonly v6 = new Map<number, Set<bigint>>();
  private count = 0;

  /** Number of entries added (addresses and ranges). */
  get size(): number {
    return this.count;
  }

  /** Adds an address or CIDR range; returns a problem text when it is neither. */
  add(entry: string): string | undefined {
    const slash = entry.indexOf('/');
    const addrText = slash >= 0 ? entry.slice(0, slash) : entry;
    const a = parseAddress(addrText);
    if (!a) return 'not an IPv4 or IPv6 address or CIDR range';
    const bits = isIPv6(addrText) ? 128 : 32;
    let prefix = bits;
    if (slash >= 0) {
      const p = entry.slice(slash + 1);
      if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return `the prefix length must be 0 to ${bits}`;
      prefix = Number(p);
      // An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
      if (!a.v6 && isIPv6(addrText)) {
        if (prefix < 96) return 'an IPv4-mapped range needs a prefix of at least 96';
        prefix -= 96;
      }
    }
    const map = a.v6 ? this.v6 : this.v4;
    const net = mask(a.n, a.v6 ? 128 : 32, prefix);
    let s = map.get(prefix);
    if (!s) map.set(prefix, (s = new Set()));
    s.add(net);
    this.count++;
    return undefined;
  }

  /** Whether an address (text, as in sourceIPs) is in the set; false for anything not an address. */
  has(address: string): boolean {
    const a = parseAddress(address);
    if (!a) return false;
    const map = a.v6 ? this.v6 : this.v4;
    const bits = a.v6 ? 128 : 32;
    for (const [prefix, nets] of map) if (nets.has(mask(a.n, bits, prefix))) return true;
    return false;
  }
}

function mask(n: bigint, bits: number, prefix: number): bigint {
  const host = BigInt(bits - prefix);
  return (n >> host) << host;
}

/** Printable form of a hostile line for a message: control characters escaped, length capped. */
function shown(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return JSON.stringify(cut);
}

/**
 * Parses a list file's text: one address or CIDR range a line; `#` starts a comment; blank lines and
 * surrounding spaces are ignored. Bad lines are returned as problems and skipped.
 */
export function parseIpList(text: string, file: string): { set: IpSet; problems: IpListProblem[] } {
  const set = new IpSet();
  const problems: IpListProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!;
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    const hash = line.indexOf('#');
    const entry = (hash >= 0 ? line.slice(0, hash) : line).trim();
    if (entry === '') continue;
    if (entry.length > MAX_LINE) {
      problems.push({ file, line: i + 1, message: `line longer than ${MAX_LINE} characters` });
      continue;
    }
    const problem = /\s/.test(entry) ? 'one address or range a line' : set.add(entry);
    if (problem) problems.push({ file, line: i + 1, message: `${shown(entry)}: ${problem}` });
  }
  return { set, problems };
}

/** One configured list: its file, what was last read from it, and how to tell the file changed. */
export class IpListFile {
  /** The contents in use; undefined until a read succeeded. */
  current: IpSet | undefined;
  private stamp = '';

  constructor(
    readonly name: string,
    readonly file: string,
  ) {}

  /** Reads the file now (at start): errors are thrown as KubetrailError; bad lines are returned. */
  loadSync(): IpListProblem[] {
    let st;
    try {
      st = statSync(this.file);
    } catch (err) {
      throw readError(this.name, this.file, err);
    }
    if (!st.isFile()) throw readError(this.name, this.file, new Error('not a regular file'));
    if (st.size > MAX_IP_LIST_BYTES)
      throw readError(this.name, this.file, new Error(`larger than ${MAX_IP_LIST_BYTES} bytes`));
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      throw readError(this.name, this.file, err);
    }
    return this.use(text, `${st.mtimeMs}:${st.size}`);
  }

  /**
   * Re-reads the file when its modification time or size changed. Returns undefined when unchanged,
   * else the problems of the new contents; a file that cannot be read keeps the previous contents and
   * gives one problem (line 0).
   */
  async refresh(): Promise<IpListProblem[] | undefined> {
    try {
      const st = await stat(this.file);
      const stamp = `${st.mtimeMs}:${st.size}`;
      if (stamp === this.stamp) return undefined;
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > MAX_IP_LIST_BYTES) throw new Error(`larger than ${MAX_IP_LIST_BYTES} bytes`);
      const text = await readFile(this.file, 'utf8');
      return this.use(text, stamp);
    } catch (err) {
      const stamp = `error:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      if (stamp === this.stamp) return undefined;
      this.stamp = stamp;
      return [
        {
          file: this.file,
          line: 0,
          message: `cannot be read (${(err as Error).message}); the previous contents stay in use`,
        },
      ];
    }
  }

  private use(text: string, stamp: string): IpListProblem[] {
    const { set, problems } = parseIpList(text, this.file);
    this.current = set;
    this.stamp = stamp;
    return problems;
  }
}

function readError(name: string, file: string, err: unknown): KubetrailError {
  const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
  return new KubetrailError(
    missing ? 'KT_INPUT_NOT_FOUND' : 'KT_INPUT_READ',
    `IP list ${name}: ${missing ? 'no such file' : `cannot read the file: ${(err as Error).message}`}`,
    { where: { file }, cause: err },
  );
}

/** One problem as a warning line: `file:line: message`. */
export function formatIpListProblem(p: IpListProblem): string {
  return `${p.file}${p.line > 0 ? `:${p.line}` : ''}: ${p.message}`;
}

/** Parses `NAME=FILE` (the --ip-list option). */
export function parseIpListOption(spec: string): { name: string; file: string } {
  const eq = spec.indexOf('=');
  const name = eq > 0 ? spec.slice(0, eq) : '';
  const file = eq > 0 ? spec.slice(eq + 1) : '';
  if (!IP_LIST_NAME.test(name) || file === '')
    throw new KubetrailError(
      'KT_USAGE',
      `--ip-list takes NAME=FILE, as in tor-exit-nodes=/etc/kubetrail/tor.txt`,
      {
        where: { path: '--ip-list' },
      },
    );
  return { name, file };
}

/** Parses repeated --ip-list options into name → file; a name given twice is refused. */
export function ipListOptions(specs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of specs) {
    const { name, file } = parseIpListOption(spec);
    if (name in out)
      throw new KubetrailError('KT_USAGE', `--ip-list ${name} is given twice`, {
        where: { path: '--ip-list' },
      });
    out[name] = file;
  }
  return out;
}

/** IP lists read from files (name → file), as configured; throws KubetrailError for a file that cannot be read. */
export function openIpLists(files: Readonly<Record<string, string>>, opts: IpListsOptions = {}): IpLists {
  const lists = new IpLists(opts);
  for (const [name, file] of Object.entries(files)) lists.add(name, file);
  return lists;
}

export interface IpListsOptions {
  /** Where bad lines and unreadable files are reported (default: nowhere). */
  onWarning?: (message: string) => void;
}

/** The configured IP lists, by name: what rules look addresses up in. */
export class IpLists {
  private readonly lists = new Map<string, IpListFile>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<string[]> | undefined;

  constructor(private readonly opts: IpListsOptions = {}) {}

  /** Configures a list from a file and reads it now; throws KubetrailError when it cannot be read. */
  add(name: string, file: string): void {
    if (!IP_LIST_NAME.test(name))
      throw new KubetrailError(
        'KT_USAGE',
        `IP list name ${JSON.stringify(name)} is not a word such as tor-exit-nodes`,
        {
          where: { path: name },
        },
      );
    const l = new IpListFile(name, file);
    this.report(name, l.loadSync());
    this.lists.set(name, l);
  }

  /** Configures a list from entries in memory (rule examples, tests); throws on a bad entry. */
  addEntries(name: string, entries: readonly string[]): void {
    const { set, problems } = parseIpList(entries.join('\n'), `list ${name}`);
    if (problems.length > 0) throw new Error(formatIpListProblem(problems[0]!));
    const l = new IpListFile(name, '');
    l.current = set;
    this.lists.set(name, l);
  }

  names(): string[] {
    return [...this.lists.keys()].sort();
  }

  has(name: string): boolean {
    return this.lists.has(name);
  }

  /**
   * A test for "a source address of the event is in list `name`" (with `outside`: "the event has source
   * addresses and none is in the list"), reading the list's contents at call time, so a reload applies
   * at once. A list that is not configured or not yet read matches nothing either way.
   */
  matcher(name: string, outside = false): (r: EventRecord) => boolean {
    // Source addresses repeat from event to event: answers are remembered per contents read.
    let cacheFor: IpSet | undefined;
    const cache = new Map<string, boolean>();
    const has = (set: IpSet, ip: string): boolean => {
      if (cacheFor !== set || cache.size >= 10_000) {
        cache.clear();
        cacheFor = set;
      }
      let v = cache.get(ip);
      if (v === undefined) cache.set(ip, (v = set.has(ip)));
      return v;
    };
    return (r) => {
      const set = this.lists.get(name)?.current;
      if (!set) return false;
      const ips = r.event.sourceIPs ?? [];
      let inside = false;
      for (const ip of ips) {
        if (typeof ip === 'string' && has(set, ip)) {
          inside = true;
          break;
        }
      }
      return outside ? ips.length > 0 && !inside : inside;
    };
  }

  /** Re-reads every list whose file changed; returns the names re-read. */
  refresh(): Promise<string[]> {
    this.refreshing ??= (async () => {
      const changed: string[] = [];
      for (const [name, l] of this.lists) {
        if (l.file === '') continue;
        const problems = await l.refresh();
        if (problems === undefined) continue;
        if (!problems.some((p) => p.line === 0)) changed.push(name);
        this.report(name, problems);
      }
      return changed;
    })().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** Checks the files for changes every `intervalMs` (at least one second) until close(). */
  watch(intervalMs = 30_000): void {
    this.close();
    if (this.lists.size === 0) return;
    this.timer = setInterval(() => void this.refresh(), Math.max(1000, intervalMs));
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private report(name: string, problems: IpListProblem[]): void {
    const warn = this.opts.onWarning;
    if (!warn || problems.length === 0) return;
    for (const p of problems.slice(0, MAX_WARNINGS)) warn(`IP list ${name}: ${formatIpListProblem(p)}`);
    if (problems.length > MAX_WARNINGS)
      warn(`IP list ${name}: ${problems.length - MAX_WARNINGS} more bad lines skipped`);
  }
}
