// The detection commands end to end, in process: detect over files printing JSON lines, rules lint and
// test, import --detect delivering to a real webhook on loopback, and alerts listing what was stored.
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusPath } from '../test-support/requirements.js';
import { runCli } from '../test-support/cli.js';
import { resolveServeConfig } from '../cli/commands/serve.js';
import { ConfigError, parseConfig } from '../config/load.js';

const corpus = corpusPath();
const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-detect-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (args: string[]) => runCli(args, 160);

describe('detection commands', () => {
  it('rules lint accepts the built-in pack and reports a broken file with its place', async () => {
    const ok = await run(['rules', 'lint']);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/^ok: \d+ rules/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      "rules:\n  - id: x\n    title: t\n    severity: high\n    condition: 'usr:bob'\n    output: o\n",
    );
    const r = await run(['rules', 'lint', bad]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`${bad}:2 (x): condition: unknown field "usr"; did you mean \`user\`?`);
  });

  it("rules test runs every rule's examples", async () => {
    const r = await run(['rules', 'test']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\d+ rules, \d+ examples passed, 0 failed/);
  });

  it('rules show explains one rule', async () => {
    const r = await run(['rules', 'show', 'pod-exec']);
    expect(r.out).toContain('falco:Attach/Exec Pod');
    expect((await run(['rules', 'show', 'pod-exe'])).code).toBe(1);
    expect((await run(['rules', 'show', 'tor-exit-node'])).out).toContain(
      'IP list      a source address in tor-exit-nodes (the rule is inert until --ip-list tor-exit-nodes=FILE',
    );
    expect((await run(['rules', 'show', 'audit-trail-gap'])).out).toMatch(/kind +silence/);
  });

  it.skipIf(!corpus)(
    'detect prints one alert per line with its rule, time, audit IDs and references',
    async () => {
      const f = (n: string) => path.join(corpus!, 'falco-k8s-audit', n);
      const r = await run([
        'detect',
        f('create_nginx_pod_privileged.json'),
        f('exec_pod.json'),
        '-o',
        'ndjson',
        '--fail-on',
        'high',
      ]);
      expect(r.code).toBe(1);
      const alerts = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(alerts.map((a) => a.rule)).toEqual(['privileged-pod', 'pod-exec']);
      expect(alerts[0]).toMatchObject({
        title: 'Privileged container created',
        severity: 'high',
        time: '2018-10-25T14:09:12.581541Z',
        auditIDs: ['a362d22b-db3c-4590-9505-23782f12925f'],
        references: expect.arrayContaining([
          'T1611',
          'falco:Create Privileged Pod',
          'panther:Kubernetes.Pod.Privileged.Created',
        ]),
      });
      expect(alerts[0].message).toContain('privileged container');
    },
  );

  it.skipIf(!corpus)(
    'import --detect stores alerts and delivers them to a webhook; alerts lists them',
    async () => {
      const got: { rule: string }[] = [];
      const server = createServer((req, res) => {
        let data = '';
        req.on('data', (c) => (data += c));
        req.on('end', () => {
          got.push(JSON.parse(data));
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
      try {
        const db = path.join(dir, 'import.duckdb');
        const f = path.join(corpus!, 'falco-k8s-audit', 'attach_cluster_admin_role.json');
        const r = await run([
          'import',
          f,
          '--db',
          db,
          '--detect',
          '--alert-output',
          `webhook:${url}`,
          '-o',
          'json',
        ]);
        expect(r.code).toBe(0);
        expect(JSON.parse(r.out).detection).toEqual({ alerts: 2, stored: 2, pending: 0 });
        // Informational alerts are stored, not sent.
        expect(got.map((g) => g.rule)).toEqual(['cluster-admin-binding']);
        const listed = await run(['alerts', '--db', db, '--since', '3000d', '-o', 'ndjson']);
        expect(
          listed.out
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l).rule)
            .sort(),
        ).toEqual(['activity-clusterrolebinding-created', 'cluster-admin-binding']);
        // Importing the same file again raises nothing new.
        const again = await run(['import', f, '--db', db, '--detect', '-o', 'json']);
        expect(JSON.parse(again.out).detection.stored).toBe(0);
      } finally {
        await new Promise<void>((ok) => server.close(() => ok()));
      }
    },
  );

  it('detect --ip-list fires the Tor rule for a listed range and warns about a bad line with its place', async () => {
    const list = path.join(dir, 'tor.txt');
    writeFileSync(list, '203.0.113.0/28\n203.0.113.300\n2001:db8::/32\n');
    const events = path.join(dir, 'tor-events.jsonl');
    const ev = (id: string, ip: string) =>
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        level: 'Metadata',
        auditID: id,
        stage: 'ResponseComplete',
        requestURI: '/api/v1/namespaces/default/pods',
        verb: 'list',
        user: { username: 'mallory@example.com' },
        sourceIPs: [ip],
        objectRef: { resource: 'pods', namespace: 'default' },
        responseStatus: { code: 200 },
        stageTimestamp: '2026-11-30T10:00:00Z',
      });
    writeFileSync(events, `${ev('a1', '203.0.113.9')}\n${ev('a2', '198.51.100.9')}\n`);
    const withList = await run(['detect', events, '--ip-list', `tor-exit-nodes=${list}`, '-o', 'ndjson']);
    expect(withList.code).toBe(0);
    const tor = withList.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((a) => a.rule === 'tor-exit-node');
    expect(tor.map((a) => a.auditIDs)).toEqual([['a1']]);
    expect(withList.err).toContain(`warning: IP list tor-exit-nodes: ${list}:2: "203.0.113.300"`);
    // Without the list the rule is inert.
    const without = await run(['detect', events, '-o', 'ndjson']);
    expect(without.out).not.toContain('tor-exit-node');
    const bad = await run(['detect', events, '--ip-list', list]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('NAME=FILE');
    const missing = await run(['detect', events, '--ip-list', `tor-exit-nodes=${list}.gone`]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('KT_INPUT_NOT_FOUND');
    // import --detect takes the lists too; they need --detect.
    const db = path.join(dir, 'tor.duckdb');
    const imported = await run([
      'import',
      events,
      '--db',
      db,
      '--detect',
      '--ip-list',
      `tor-exit-nodes=${list}`,
    ]);
    expect(imported.code).toBe(0);
    const stored = await run(['alerts', '--db', db, '--since', '3000d', '-o', 'ndjson']);
    expect(stored.out).toContain('"rule":"tor-exit-node"');
    const noDetect = await run(['import', events, '--db', db, '--ip-list', `tor-exit-nodes=${list}`]);
    expect(noDetect.code).toBe(2);
    expect(noDetect.err).toContain('need --detect');
  });

  it('serve takes IP lists from detect.ipLists and --ip-list', () => {
    const config = parseConfig('detect:\n  ipLists:\n    tor-exit-nodes: /etc/kubetrail/tor.txt\n', 'c.yaml');
    expect(config.detect.ipLists).toEqual({ 'tor-exit-nodes': '/etc/kubetrail/tor.txt' });
    expect(() => parseConfig('detect:\n  ipLists:\n    "tor exits": /x\n', 'c.yaml')).toThrow(ConfigError);
    const flags = resolveServeConfig({ tail: [], ipList: ['node-networks=/etc/nodes.txt'] }, {});
    expect(flags.detect.ipLists).toEqual({ 'node-networks': '/etc/nodes.txt' });
    expect(() => resolveServeConfig({ tail: [], ipList: ['a=/x', 'a=/y'] }, {})).toThrow(/given twice/);
  });
});
