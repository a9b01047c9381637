// IP lists: parsing (addresses, CIDR ranges, IPv6, positioned bad lines), rules that name a list
// (matching inside a range, inert without the list, `outside`), and re-reading a changed file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubetrailError } from '../core/errors.js';
import type { EventRecord } from '../core/event.js';
import { DetectionEngine } from './engine.js';
import { exampleEvent } from './examples.js';
import { IpLists, parseIpList, parseIpListOption } from './ip-list.js';
import { inspectRules, loadRules } from './rules.js';
import { openDetection } from './session.js';
import { openStore } from '../store/open.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-iplist-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function event(ips: string[], user = 'alice@example.com'): EventRecord {
  return {
    cluster: 'c',
    event: exampleEvent(
      { sourceIPs: ips, user: { username: user } },
      1_736_154_000_000_000,
      `id-${ips.join('-')}`,
    ),
  };
}

describe('parseIpList', () => {
  it('reads addresses and ranges of both families, with comments and blank lines', () => {
    const { set, problems } = parseIpList(
      '\ufeff# Tor exits\n192.0.2.66\n\n198.51.100.0/24  # a range\n2001:db8::/32\n2001:db8:ffff::1\n::ffff:203.0.113.9\n',
      'tor.txt',
    );
    expect(problems).toEqual([]);
    expect(set.size).toBe(5);
    expect(set.has('192.0.2.66')).toBe(true);
    expect(set.has('192.0.2.67')).toBe(false);
    expect(set.has('198.51.100.255')).toBe(true);
    expect(set.has('198.51.101.0')).toBe(false);
    expect(set.has('2001:db8:1234::7')).toBe(true);
    expect(set.has('2001:0db8:0000:0000:0000:0000:0000:0001')).toBe(true);
    expect(set.has('2001:db9::1')).toBe(false);
    // An IPv4-mapped address is the IPv4 address, both ways round.
    expect(set.has('203.0.113.9')).toBe(true);
    expect(set.has('::ffff:192.0.2.66')).toBe(true);
    expect(set.has('not-an-ip')).toBe(false);
  });

  it('reports each bad line with its file and line, and keeps the good ones', () => {
    const { set, problems } = parseIpList(
      '10.0.0.1\n10.0.0.256\n10.1.0.0/33\nfe80::1%eth0\n1.2.3.4 5.6.7.8\n\u001b[31mred\n2001:db8::/129\n10.2.0.0/16\n',
      'feed.txt',
    );
    expect(problems.map((p) => `${p.file}:${p.line}`)).toEqual([
      'feed.txt:2',
      'feed.txt:3',
      'feed.txt:4',
      'feed.txt:5',
      'feed.txt:6',
      'feed.txt:7',
    ]);
    expect(problems[1]!.message).toMatch(/prefix length must be 0 to 32/);
    expect(problems[5]!.message).toMatch(/prefix length must be 0 to 128/);
    // Control characters of a hostile line are escaped in the message.
    expect(problems[4]!.message).not.toContain('\u001b');
    expect(set.size).toBe(2);
    expect(set.has('10.2.200.1')).toBe(true);
  });

  it('takes NAME=FILE on the command line and refuses anything else', () => {
    expect(parseIpListOption('tor-exit-nodes=/etc/tor.txt')).toEqual({
      name: 'tor-exit-nodes',
      file: '/etc/tor.txt',
    });
    expect(() => parseIpListOption('/etc/tor.txt')).toThrow(/NAME=FILE/);
    expect(() => parseIpListOption('bad name=/x')).toThrow(KubetrailError);
  });
});

describe('IP lists in rules', () => {
  it('fires the built-in Tor rule for an address inside a listed range, and not for others', () => {
    const file = path.join(dir, 'tor.txt');
    writeFileSync(file, '# exits\n203.0.113.0/28\n2001:db8:dead::/48\n');
    const ipLists = new IpLists();
    ipLists.add('tor-exit-nodes', file);
    const tor = loadRules({ ipLists }).filter((r) => r.def.id === 'tor-exit-node');
    const engine = new DetectionEngine(tor);
    expect(engine.process(event(['203.0.113.14'])).map((a) => a.rule)).toEqual(['tor-exit-node']);
    expect(engine.process(event(['2001:db8:dead:1::9'], 'bob')).map((a) => a.rule)).toEqual([
      'tor-exit-node',
    ]);
    expect(engine.process(event(['203.0.113.16'], 'carol'))).toEqual([]);
  });

  it('leaves a rule naming an unconfigured list inert', () => {
    const tor = loadRules().filter((r) => r.def.id === 'tor-exit-node');
    expect(tor).toHaveLength(1);
    expect(new DetectionEngine(tor).process(event(['203.0.113.14']))).toEqual([]);
  });

  it('matches addresses outside a list with `outside: true`', () => {
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(
      rules,
      [
        'rules:',
        '  - id: from-outside-office',
        '    title: Request from outside the office',
        '    severity: medium',
        "    condition: '*'",
        '    ipList: { name: office, outside: true }',
        "    output: '{user} from {ip}'",
      ].join('\n'),
    );
    const ipLists = new IpLists();
    ipLists.addEntries('office', ['192.0.2.0/24']);
    const rule = loadRules({ files: [rules], builtin: false, ipLists });
    const engine = new DetectionEngine(rule);
    expect(engine.process(event(['192.0.2.8']))).toEqual([]);
    expect(engine.process(event(['198.51.100.8']))).toHaveLength(1);
  });

  it('refuses a rule whose ipList is not a list name, with its place', () => {
    const rules = path.join(dir, 'bad.yaml');
    writeFileSync(
      rules,
      "rules:\n  - id: x\n    title: X\n    severity: low\n    condition: '*'\n    ipList: 'tor exits'\n    output: x\n",
    );
    const problems = inspectRules({ files: [rules], builtin: false }).problems;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: rules, line: 6 });
  });
});

describe('IP list files', () => {
  it('re-reads a changed file without recompiling the rules', async () => {
    const file = path.join(dir, 'tor.txt');
    writeFileSync(file, '192.0.2.1\n');
    const warnings: string[] = [];
    const ipLists = new IpLists({ onWarning: (m) => warnings.push(m) });
    ipLists.add('tor-exit-nodes', file);
    const tor = loadRules({ ipLists }).filter((r) => r.def.id === 'tor-exit-node');
    const engine = new DetectionEngine(tor);
    expect(engine.process(event(['198.51.100.77']))).toEqual([]);

    expect(await ipLists.refresh()).toEqual([]);
    writeFileSync(file, '192.0.2.1\n198.51.100.64/26\nnonsense\n');
    expect(await ipLists.refresh()).toEqual(['tor-exit-nodes']);
    expect(engine.process(event(['198.51.100.77'], 'bob'))).toHaveLength(1);
    expect(warnings).toEqual([
      `IP list tor-exit-nodes: ${file}:3: "nonsense": not an IPv4 or IPv6 address or CIDR range`,
    ]);

    // A file that disappears keeps the previous contents in use, with one warning.
    rmSync(file);
    expect(await ipLists.refresh()).toEqual([]);
    expect(await ipLists.refresh()).toEqual([]);
    expect(engine.process(event(['198.51.100.78'], 'carol'))).toHaveLength(1);
    expect(warnings.filter((w) => w.includes('previous contents stay in use'))).toHaveLength(1);
  });

  it('checks for changes on its own while watched', async () => {
    const file = path.join(dir, 'list.txt');
    writeFileSync(file, '192.0.2.1\n');
    const ipLists = new IpLists();
    ipLists.add('l', file);
    const inList = ipLists.matcher('l');
    ipLists.watch(1000);
    try {
      writeFileSync(file, '192.0.2.1\n192.0.2.2\n');
      await vi.waitFor(() => expect(inList(event(['192.0.2.2']))).toBe(true), {
        timeout: 4000,
        interval: 100,
      });
    } finally {
      ipLists.close();
    }
  });

  it('refuses a missing file at start with its name and path', () => {
    const ipLists = new IpLists();
    const missing = path.join(dir, 'nope.txt');
    expect(() => ipLists.add('tor-exit-nodes', missing)).toThrow(
      expect.objectContaining({ code: 'KT_INPUT_NOT_FOUND', where: { file: missing } }),
    );
  });

  it("are read and watched by a detection session (the server's detect.ipLists)", async () => {
    const file = path.join(dir, 'tor.txt');
    writeFileSync(file, '192.0.2.1\n');
    const warnings: string[] = [];
    const store = await openStore(path.join(dir, 'store.duckdb'));
    try {
      const session = await openDetection(store, {
        ipListFiles: { 'tor-exit-nodes': file },
        ipListCheckMs: 1000,
        onIpListWarning: (m) => warnings.push(m),
        resume: false,
      });
      try {
        const tor = (r: EventRecord) => session.engine.process(r).filter((a) => a.rule === 'tor-exit-node');
        expect(tor(event(['192.0.2.1']))).toHaveLength(1);
        expect(tor(event(['192.0.2.2'], 'bob'))).toHaveLength(0);
        writeFileSync(file, '192.0.2.1\n192.0.2.2\nbad\n');
        await vi.waitFor(() => expect(warnings).toHaveLength(1), { timeout: 4000, interval: 100 });
        expect(tor(event(['192.0.2.2'], 'carol'))).toHaveLength(1);
      } finally {
        await session.finish(0);
      }
    } finally {
      await store.close();
    }
  });
});
