// syslog over TCP or TLS: RFC 5424 messages, framed by octet counting (RFC 6587 §3.4.1: "LEN SP MSG"),
// as RFC 5425 prescribes for TLS. One message per event:
//   <PRI>1 TIMESTAMP HOSTNAME kubetrail PROCID audit - {"cluster":…,"contentHash":…,"event":{…}}
// PRI is facility·8 + severity (err for 5xx answers, notice for 4xx, info otherwise); TIMESTAMP is the
// event's stage time. A batch counts as delivered once the socket has handed all its bytes to the
// kernel; a connection that fails or closes makes the whole batch be sent again on a new connection.
// syslog over TCP has no acknowledgement: what a receiver loses after reading it cannot be seen here.
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { ResolvedForwarder } from '../spec.js';
import { retryAll, type Destination, type ForwardRecord, type SendOutcome } from '../types.js';

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

function printable(text: string, max: number): string {
  const t = text.replace(/[^!-~]/g, '_').slice(0, max);
  return t === '' ? '-' : t;
}

function severity(r: ForwardRecord): number {
  const code = r.event.responseStatus?.code;
  if (typeof code !== 'number') return 6;
  if (code >= 500) return 3;
  if (code >= 400) return 5;
  return 6;
}

/** One RFC 5424 message (without framing). */
export function syslogMessage(
  r: ForwardRecord,
  o: { facility: number; hostname: string; appName: string },
): string {
  const t = r.event.stageTimestamp ?? r.event.requestReceivedTimestamp;
  const ts = t && TIMESTAMP.test(t) ? t : new Date().toISOString();
  const pri = o.facility * 8 + severity(r);
  const msg = JSON.stringify({ cluster: r.cluster, contentHash: r.hash, event: r.event });
  return `<${pri}>1 ${ts} ${o.hostname} ${o.appName} ${process.pid} audit - ${msg}`;
}

/** Octet-counting framing: the message's length in bytes, a space, the message. */
export function frame(message: string): string {
  return `${Buffer.byteLength(message)} ${message}`;
}

export class SyslogDestination implements Destination {
  private socket: net.Socket | undefined;
  private readonly opts: { facility: number; hostname: string; appName: string };

  constructor(
    private readonly def: ResolvedForwarder,
    private readonly target: { tls: boolean; host: string; port: number },
  ) {
    this.opts = {
      facility: def.config.facility ?? 16,
      hostname: printable(def.config.hostname ?? os.hostname(), 255),
      appName: printable(def.config.appName ?? 'kubetrail', 48),
    };
  }

  private connect(): Promise<net.Socket> {
    const live = this.socket;
    if (live && !live.destroyed && live.writable) return Promise.resolve(live);
    const { host, port } = this.target;
    const timeout = this.def.config.timeoutMs;
    return new Promise((resolve, reject) => {
      const s = this.target.tls
        ? tls.connect({
            host,
            port,
            servername: net.isIP(host) ? undefined : host,
            ...(this.def.ca ? { ca: this.def.ca } : {}),
          })
        : net.connect({ host, port });
      const timer = setTimeout(() => s.destroy(new Error(`no connection within ${timeout} ms`)), timeout);
      s.once(this.target.tls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.setKeepAlive(true, 30_000);
        s.removeListener('error', reject);
        s.on('error', () => s.destroy());
        // The receiver says nothing back; data or an end from it means the connection is going away.
        s.on('data', () => undefined);
        s.on('end', () => s.destroy());
        this.socket = s;
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async send(batch: readonly ForwardRecord[]): Promise<SendOutcome> {
    const text = batch.map((r) => frame(syslogMessage(r, this.opts))).join('');
    let s: net.Socket;
    try {
      s = await this.connect();
    } catch (err) {
      return retryAll(
        batch,
        `cannot connect to ${this.target.host}:${this.target.port}: ${(err as Error).message}`,
      );
    }
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`not written within ${this.def.config.timeoutMs} ms`)),
          this.def.config.timeoutMs,
        );
        const onClose = () => reject(new Error('connection closed'));
        s.once('close', onClose);
        s.write(text, (err) => {
          clearTimeout(timer);
          s.removeListener('close', onClose);
          if (err) reject(err);
          else resolve();
        });
      });
      return { retry: [], dead: [] };
    } catch (err) {
      s.destroy();
      this.socket = undefined;
      return retryAll(batch, `syslog write failed: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    const s = this.socket;
    this.socket = undefined;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      s.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
