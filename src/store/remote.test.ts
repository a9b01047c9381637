// The reading commands while a server holds the DuckDB store: through the server (its discovery file and
// local store endpoint) they print exactly what they print on the store itself once the server is gone.
// Also: a stale discovery file, a discovery file another user could read, and writing commands refused.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { generateEvents } from '../generate/index.js';
import { parseQuery } from '../query/index.js';
import { startCollector, type Collector } from '../server/collector.js';
import { runCli, type CliRun } from '../test-support/cli.js';
import { canonicalDbPath, discoveryFileFor, type Discovery } from './discovery.js';
import { openStore } from './open.js';
import { connectLocal, RemoteStore } from './remote.js';

const START = Date.UTC(2025, 2, 3, 0, 0, 0);
const SINCE = '2025-03-01T00:00:00Z';

let dir: string;
let db: string;
let policy: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'kt-remote-'));
  db = path.join(dir, 'kt.duckdb');
  policy = path.join(dir, 'policy.yaml');
  writeFileSync(
    policy,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'rules:',
      '  - level: None',
      '    verbs: [get, list, watch]',
      '  - level: Metadata',
      '',
    ].join('\n'),
  );
  // A day of the simulated cluster with its incidents: more events than one page of the endpoint.
  const store = await openStore(db);
  try {
    const events = [
      ...generateEvents({
        seed: 7,
        start: START,
        durationMs: 86_400_000,
        eventsPerSecond: 0.02,
        incidents: true,
      }),
    ];
    await store.write(events.map((event) => ({ cluster: 'default', event })));
  } finally {
    await store.close();
  }
  const saved = await runCli(['detect', '--db', db, '--save']);
  expect(saved.code).toBe(0);
});

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

async function startServer(): Promise<Collector> {
  const config = configSchema.parse({
    dataDir: dir,
    db,
    listen: '127.0.0.1:0',
    autodetect: false,
    detect: { enabled: false },
  });
  return startCollector({ config, logger: pino({ level: 'silent' }) });
}

/** A process that opens the store for writing and holds it until killed (like an import). */
async function holdLock(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { DuckDBInstance } from '@duckdb/node-api';
       await DuckDBInstance.create(${JSON.stringify(db)});
       process.stdout.write('held\\n');
       setInterval(() => {}, 1000);`,
    ],
    { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
}

/** A process id that is not running: one of a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

describe('the CLI while a server holds the store', () => {
  it('answers every reading command as the store itself does', async () => {
    const server = await startServer();
    let through: Record<string, CliRun>;
    const file = discoveryFileFor(db);
    let someID: string;
    let object: string;
    try {
      // The discovery file: beside the store, the owner's only, naming this server.
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const d = JSON.parse(readFileSync(file, 'utf8')) as Discovery;
      expect(d.url).toBe(server.url);
      expect(d.pid).toBe(process.pid);
      // The credential is in no other file (not the token file, not a log).
      for (const name of readdirSync(dir))
        if (path.join(dir, name) !== file && statSync(path.join(dir, name)).isFile())
          expect(readFileSync(path.join(dir, name)).includes(d.credential), name).toBe(false);

      const ndjson = await runCli(['query', '--db', db, '--since', SINCE, 'verb:create', '-o', 'ndjson']);
      const first = JSON.parse(ndjson.out.split('\n')[0]!) as {
        auditID: string;
        objectRef: { resource: string; name: string; namespace?: string };
      };
      someID = first.auditID;
      object = `${first.objectRef.resource}/${first.objectRef.name}`;
      through = await runAll(someID, object, first.objectRef.namespace);

      // They went through the server: its access log has the local CLI's reads.
      const log = readFileSync(path.join(dir, 'access.log'), 'utf8');
      expect(log).toContain('"user":"local-cli"');
      expect(log).toContain('/api/v1/local/store');
      expect(log).not.toContain(d.credential);

      // Writing commands are refused with the server named.
      const save = await runCli(['detect', '--db', db, '--save']);
      expect(save.code).toBe(3);
      expect(save.err).toContain('KT_STORE_OPEN');
      expect(save.err).toContain(
        `the kubetrail server at ${server.url} (pid ${process.pid}) holds this store`,
      );
      const store = await openStore(db, { readOnly: true });
      try {
        expect(store).toBeInstanceOf(RemoteStore);
        await expect(store.write([])).rejects.toMatchObject({ code: 'KT_STORE_WRITE' });
        // Alerts are acknowledged through the server too.
        const alerts = (await store.alertLog())!;
        const [alert] = await alerts.list({ limit: 1 });
        expect(alert).toBeDefined();
        expect(await alerts.acknowledge(alert!.id, 'ops', Date.UTC(2025, 2, 5))).toBe(true);
        expect(await alerts.acknowledge('no-such-alert', 'ops')).toBe(false);
        expect([...(await alerts.acks([alert!.id]))]).toEqual([
          [alert!.id, { by: 'ops', at: '2025-03-05T00:00:00.000Z' }],
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await server.close();
    }
    expect(existsSync(file)).toBe(false);

    // The same commands on the store itself.
    const direct = await runAll(someID, object, undefined);
    for (const [name, run] of Object.entries(through)) {
      expect(run.code, name).toBe(direct[name]!.code);
      expect(run.out, name).toBe(direct[name]!.out);
      expect(run.err, name).toBe(direct[name]!.err);
    }
    // The runs compared are not empty.
    expect(direct['query ndjson many']!.out.split('\n').length).toBeGreaterThan(1000);
    expect(direct.alerts!.out).not.toBe('');
    expect(direct.show!.out).toContain(someID);
    const ackedLog = await openStore(db, { readOnly: true });
    try {
      const alerts = (await ackedLog.alertLog({ existing: true }))!;
      const acked = await alerts.acks((await alerts.list({})).map((a) => a.id));
      expect([...acked.values()]).toEqual([{ by: 'ops', at: '2025-03-05T00:00:00.000Z' }]);
    } finally {
      await ackedLog.close();
    }

    async function runAll(auditID: string, obj: string, ns: string | undefined) {
      const cmds: Record<string, string[]> = {
        'query table': ['query', '--since', SINCE, 'verb:delete'],
        'query ndjson many': ['query', '--since', SINCE, '*', '-o', 'ndjson', '--limit', '2500', '--asc'],
        'query json more': ['query', '--since', SINCE, 'verb:get', '-o', 'json', '--limit', '3'],
        'query none': ['query', '--since', SINCE, 'user:nobody-at-all'],
        stats: ['stats', '--since', SINCE, '--by', 'user'],
        'stats json': ['stats', '--since', SINCE, 'verb:create', '--by', 'resource', '-o', 'json'],
        show: ['show', auditID],
        history: ['history', obj, ...(ns ? ['--namespace', ns] : []), '--reads'],
        alerts: ['alerts', '--since', SINCE],
        'alerts ndjson': ['alerts', '--since', SINCE, '-o', 'ndjson', '--min-severity', 'high'],
        detect: ['detect', '--since', SINCE, '-o', 'ndjson'],
        scan: ['scan'],
        'policy simulate': ['policy', 'simulate', '--policy', policy],
      };
      const out: Record<string, CliRun> = {};
      for (const [name, args] of Object.entries(cmds)) out[name] = await runCli([...args, '--db', db]);
      return out;
    }
  });

  it('joins pages larger than one call from keyset pages, as the store pages them', async () => {
    const server = await startServer();
    try {
      const d = JSON.parse(readFileSync(discoveryFileFor(db), 'utf8')) as Discovery;
      const client = (await connectLocal(d, canonicalDbPath(db)))!;
      expect(client).toBeDefined();
      const remote = new RemoteStore(client, db, 7);
      try {
        const filter = parseQuery('verb:get');
        for (const order of ['asc', 'desc'] as const) {
          const mine = await remote.query({ filter, limit: 20, order });
          const theirs = await server.store.query({ filter, limit: 20, order });
          expect(mine).toEqual(theirs);
          expect(mine.nextCursor).toBeDefined();
          const next = { filter, limit: 16, order, cursor: mine.nextCursor! };
          expect(await remote.query(next)).toEqual(await server.store.query(next));
        }
        const all = await server.store.count(filter);
        const rest = await remote.query({ filter, limit: all + 5 });
        expect(rest.records).toHaveLength(all);
        expect(rest.nextCursor).toBeUndefined();
      } finally {
        await remote.close();
      }
    } finally {
      await server.close();
    }
  });

  it('a stale discovery file: reads the store when it is free, explains a lock when not', async () => {
    const file = discoveryFileFor(db);
    const stale: Discovery = {
      version: 1,
      url: 'http://127.0.0.1:9',
      pid: await deadPid(),
      db,
      credential: 'x'.repeat(43),
      startedAt: new Date().toISOString(),
    };
    writeFileSync(file, JSON.stringify(stale), { mode: 0o600 });
    try {
      const free = await runCli(['stats', '--db', db, '--since', SINCE, '--by', 'verb']);
      expect(free.code).toBe(0);
      expect(free.out).toContain('VERB');

      const holder = await holdLock();
      try {
        const locked = await runCli(['stats', '--db', db, '--since', SINCE, '--by', 'verb']);
        expect(locked.code).toBe(3);
        expect(locked.err).toContain('KT_STORE_OPEN');
        expect(locked.err).toContain(`is stale (pid ${stale.pid} is gone)`);
      } finally {
        await stop(holder);
      }
      // Nothing was removed: the file is the user's to delete.
      expect(existsSync(file)).toBe(true);
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('does not use a discovery file others can read', async () => {
    const server = await startServer();
    const file = discoveryFileFor(db);
    try {
      chmodSync(file, 0o644);
      // This process can open the store beside its own server, so the store opens directly: the file
      // others could read was passed over.
      const store = await openStore(db, { readOnly: true });
      try {
        expect(store).not.toBeInstanceOf(RemoteStore);
      } finally {
        await store.close();
      }
    } finally {
      await server.close();
    }
  });
});
