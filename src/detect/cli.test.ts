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
});
