// Test helper: a real ClickHouse server for the tests. Uses KUBETRAIL_TEST_CLICKHOUSE_URL when set;
// otherwise starts Debian's clickhouse-server (installing the package first when it is missing and the
// tests run as root) on free loopback ports with a throw-away data directory and configuration, waits
// until it answers `SELECT 1`, and stops it and removes the directory afterwards.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface TestClickHouse {
  /** Base HTTP URL, e.g. http://127.0.0.1:40123 (with credentials when the environment gave some). */
  httpUrl: string;
  /** A store location for a fresh database of its own: clickhouse://…/kt_test_xxxx */
  location(prefix?: string): string;
  stop(): Promise<void>;
}

const SERVER_PATHS = ['/usr/sbin/clickhouse-server', '/usr/bin/clickhouse-server'];

function findServer(): string | undefined {
  for (const p of SERVER_PATHS) if (existsSync(p)) return p;
  try {
    return (
      execFileSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

function installServer(): string {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'clickhouse-server is not installed: install it (apt-get install clickhouse-server) or set KUBETRAIL_TEST_CLICKHOUSE_URL',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-q', 'clickhouse-server'], { stdio: 'ignore', env });
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-q', 'clickhouse-server'], { stdio: 'ignore', env });
  }
  const found = findServer();
  if (!found) throw new Error('clickhouse-server was installed but its binary was not found');
  return found;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function configXml(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>${dir}/server.log</log>
    <errorlog>${dir}/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/data/tmp/</tmp_path>
  <user_files_path>${dir}/data/user_files/</user_files_path>
  <format_schema_path>${dir}/data/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mlock_executable>false</mlock_executable>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

/** Runs one statement over HTTP; the body of the answer, or undefined when the server does not answer. */
async function run(httpUrl: string, sql: string): Promise<string | undefined> {
  try {
    const u = new URL(httpUrl);
    const auth = u.username
      ? Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`)
      : undefined;
    u.username = '';
    u.password = '';
    const res = await fetch(u, {
      method: 'POST',
      body: sql,
      headers: auth ? { authorization: `Basic ${auth.toString('base64')}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return res.ok ? text : undefined;
  } catch {
    return undefined;
  }
}

async function answers(httpUrl: string): Promise<boolean> {
  return (await run(httpUrl, 'SELECT 1'))?.trim() === '1';
}

/** Hands out locations of fresh databases, remembering their names. */
function locations(httpUrl: string, created: string[]): (prefix?: string) => string {
  return (prefix = 'kt_test') => {
    const u = new URL(httpUrl);
    const creds = u.username ? `${u.username}:${u.password}@` : '';
    const scheme = u.protocol === 'https:' ? 'clickhouses' : 'clickhouse';
    const database = `${prefix}_${randomBytes(4).toString('hex')}`;
    created.push(database);
    return `${scheme}://${creds}${u.host}/${database}`;
  };
}

/** Starts (or connects to) a ClickHouse server for one test file. */
export async function startTestClickHouse(): Promise<TestClickHouse> {
  const given = process.env.KUBETRAIL_TEST_CLICKHOUSE_URL;
  if (given) {
    const httpUrl = given
      .replace(/^clickhouse:/, 'http:')
      .replace(/^clickhouses:/, 'https:')
      .replace(/\/+$/, '');
    if (!(await answers(httpUrl)))
      throw new Error(`KUBETRAIL_TEST_CLICKHOUSE_URL=${given} does not answer SELECT 1`);
    const created: string[] = [];
    return {
      httpUrl,
      location: locations(httpUrl, created),
      // A shared server: drop the databases the tests created, nothing else.
      async stop() {
        for (const db of created.splice(0)) await run(httpUrl, `DROP DATABASE IF EXISTS ${db}`);
      },
    };
  }
  const binary = findServer() ?? installServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-clickhouse-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  writeFileSync(path.join(dir, 'config.xml'), configXml(dir, httpPort, tcpPort));
  writeFileSync(path.join(dir, 'users.xml'), USERS_XML);
  const child: ChildProcess = spawn(binary, [`--config-file=${path.join(dir, 'config.xml')}`], {
    cwd: dir,
    stdio: 'ignore',
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  let exited = false;
  child.once('exit', () => (exited = true));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 60_000;
  while (!(await answers(httpUrl))) {
    if (exited || Date.now() > deadline) {
      const log = existsSync(path.join(dir, 'server.err.log'))
        ? readFileSync(path.join(dir, 'server.err.log'), 'utf8').slice(-2000)
        : '';
      kill();
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`clickhouse-server did not start on port ${httpPort}${log ? `:\n${log}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    httpUrl,
    location: locations(httpUrl, []),
    async stop() {
      process.removeListener('exit', kill);
      if (!exited) {
        // The data directory is thrown away: no need to wait for a graceful shutdown (several seconds).
        const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        kill();
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
