// Test helper: a real rsyslog (Debian's `rsyslog` and `rsyslog-openssl`, installed first when missing
// and the tests run as root, as CI does) started with a private configuration: one plain TCP and one TLS
// listener (a throw-away self-signed certificate) on free loopback ports, both taking octet-counted
// RFC 5424 messages, written to a file as "HOSTNAME APP-NAME PROCID MSGID MSG" lines as rsyslog parsed
// them. `stop` kills it (the destination goes down); `start` brings it back on the same ports.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';

const RSYSLOGD = '/usr/sbin/rsyslogd';
const OSSL_MODULE = [
  '/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so',
  '/usr/lib/aarch64-linux-gnu/rsyslog/lmnsd_ossl.so',
];

function install(): void {
  const have =
    existsSync(RSYSLOGD) && OSSL_MODULE.some((p) => existsSync(p)) && existsSync('/usr/bin/openssl');
  if (have) return;
  if (process.getuid?.() !== 0)
    throw new Error(
      'rsyslog is not installed: apt-get install rsyslog rsyslog-openssl openssl (the tests install them as root)',
    );
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const pkgs = ['install', '-y', '-q', 'rsyslog', 'rsyslog-openssl', 'openssl'];
  try {
    execFileSync('apt-get', pkgs, { stdio: 'ignore', env });
  } catch {
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
    execFileSync('apt-get', pkgs, { stdio: 'ignore', env });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export interface ReceivedSyslog {
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  msg: string;
}

export class TestRsyslog {
  private child: ChildProcess | undefined;
  readonly out: string;
  readonly caFile: string;

  private constructor(
    readonly dir: string,
    readonly tcpPort: number,
    readonly tlsPort: number,
  ) {
    this.out = path.join(dir, 'received.log');
    this.caFile = path.join(dir, 'cert.pem');
  }

  static async create(): Promise<TestRsyslog> {
    install();
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-rsyslog-'));
    const r = new TestRsyslog(dir, await freePort(), await freePort());
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        r.caFile,
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    writeFileSync(
      path.join(dir, 'rsyslog.conf'),
      [
        `global(workDirectory="${dir}" maxMessageSize="4m" DefaultNetstreamDriverCAFile="${r.caFile}"`,
        `  DefaultNetstreamDriverCertFile="${r.caFile}" DefaultNetstreamDriverKeyFile="${dir}/key.pem")`,
        'module(load="imtcp")',
        `input(type="imtcp" port="${r.tcpPort}" address="127.0.0.1")`,
        `input(type="imtcp" port="${r.tlsPort}" address="127.0.0.1" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")`,
        'template(name="fields" type="string" string="%hostname% %app-name% %procid% %msgid% %msg%\\n")',
        `action(type="omfile" file="${r.out}" template="fields")`,
        '',
      ].join('\n'),
    );
    await r.start();
    return r;
  }

  /** Starts rsyslogd and waits until both listeners accept connections. */
  async start(): Promise<void> {
    this.child = spawn(
      RSYSLOGD,
      ['-n', '-f', path.join(this.dir, 'rsyslog.conf'), '-i', path.join(this.dir, 'rsyslogd.pid')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    this.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const end = Date.now() + 15_000;
    while (!((await accepts(this.tcpPort)) && (await accepts(this.tlsPort)))) {
      if (Date.now() > end || this.child.exitCode !== null) throw new Error(`rsyslogd did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Kills rsyslogd (what it had written stays in the file). */
  async stop(): Promise<void> {
    const c = this.child;
    this.child = undefined;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  }

  /** The messages written so far. */
  received(): ReceivedSyslog[] {
    let text: string;
    try {
      text = readFileSync(this.out, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [hostname, appName, procId, msgId, ...rest] = line.split(' ');
        return {
          hostname: hostname!,
          appName: appName!,
          procId: procId!,
          msgId: msgId!,
          msg: rest.join(' '),
        };
      });
  }

  /** auditIDs of the messages received. */
  auditIDs(): string[] {
    return this.received().map((r) => (JSON.parse(r.msg) as { event: { auditID: string } }).event.auditID);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
