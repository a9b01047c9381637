// `kubetrail tail [FILTER]`: a live view from the terminal. Streams matching events from a running
// server (server-sent events, reconnecting when the connection drops) or, with -f FILE, straight from an
// audit log file as it grows (a file that does not exist yet is waited for, as `tail -F` does, with a
// note on stderr). One colored line per event for people, or -o json (one event per line).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import type { EventRecord } from '../../core/event.js';
import { ERROR_CODES, KubetrailError, type ErrorCode } from '../../core/errors.js';
import { createMemoryQuarantine } from '../../ingest/quarantine.js';
import { FileSource } from '../../pipeline/sources/file-source.js';
import { compileJs, parseQuery } from '../../query/index.js';
import { actorLabel, objectLabel } from '../event-output.js';
import { safeText } from '../terminal.js';
import { choice, processIo, type Io } from '../common.js';

interface TailOpts {
  server: string;
  file?: string;
  fromStart?: boolean;
  output: string;
  color?: boolean;
}

/** One line per event: time, user, verb, object, code; attacker-chosen text made safe to print. */
export function tailLine(r: EventRecord, color: boolean): string {
  const e = r.event;
  const c = color
    ? pc
    : { dim: String, red: String, yellow: String, green: String, bold: String, cyan: String };
  const code = e.responseStatus?.code;
  const codeText =
    code === undefined
      ? '   '
      : code >= 500
        ? c.red(String(code))
        : code >= 400
          ? c.yellow(String(code))
          : c.green(String(code));
  const time = (e.stageTimestamp ?? '').replace('T', ' ').replace(/(\.\d{3})\d*Z$/, '$1Z');
  return `${c.dim(safeText(time))} ${codeText} ${c.bold(safeText(e.verb ?? '').padEnd(6))} ${c.cyan(
    safeText(actorLabel(r)),
  )} ${safeText(objectLabel(r))}${r.cluster !== 'default' ? c.dim(` [${safeText(r.cluster)}]`) : ''}\n`;
}

/** Reads server-sent events from a response body; calls `onEvent` with each message's event and data. */
export async function readSse(
  body: AsyncIterable<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buf = '';
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    for (;;) {
      const end = buf.indexOf('\n\n');
      if (end < 0) break;
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length > 0) onEvent(event, data.join('\n'));
    }
  }
}

async function tailServer(filter: string, opts: TailOpts, io: Io, print: (r: EventRecord) => void) {
  const url = new URL('/api/v1/stream', opts.server);
  url.searchParams.set('q', filter);
  let backoff = 500;
  for (;;) {
    let res: Response;
    try {
      // The API needs a token (env KUBETRAIL_TOKEN; see `kubetrail token create`).
      const token = process.env.KUBETRAIL_TOKEN;
      res = await fetch(url, {
        headers: { accept: 'text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      });
    } catch (err) {
      io.err(`kubetrail: cannot reach ${opts.server} (${(err as Error).message}); retrying\n`);
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 10_000);
      continue;
    }
    if (!res.ok) {
      const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
      const message = `${opts.server} answered ${res.status}: ${body.error?.message ?? res.statusText}`;
      throw serverError(res.status, body.error, message);
    }
    backoff = 500;
    await readSse(res.body as unknown as AsyncIterable<Uint8Array>, (event, data) => {
      if (event === 'audit') print(JSON.parse(data) as EventRecord);
      else if (event === 'lagged') {
        const d = JSON.parse(data) as { dropped: number };
        io.err(`kubetrail: too slow to keep up: ${d.dropped} events skipped\n`);
      }
    }).catch(() => undefined);
    io.err('kubetrail: stream ended; reconnecting\n');
    await new Promise((r) => setTimeout(r, backoff));
  }
}

export interface FollowOptions {
  file: string;
  filter: string;
  fromStart: boolean;
  /** Resolves when following should end (Ctrl-C, SIGTERM). */
  stop: Promise<void>;
  pollMs?: number;
}

/**
 * Follows an audit log file, printing the events that match, until `stop` resolves. A file that does not
 * exist yet is waited for (it is read from its start once it appears), and stderr says so, then says when
 * it appears; a directory is refused.
 */
export async function followFile(o: FollowOptions, io: Io, print: (r: EventRecord) => void): Promise<void> {
  const accept = compileJs(parseQuery(o.filter));
  const file = path.resolve(o.file);
  const pollMs = o.pollMs ?? 250;
  let watch: NodeJS.Timeout | undefined;
  const missing = !existsSync(file);
  if (missing) {
    io.err(`kubetrail: ${safeText(file)} does not exist yet; waiting for it to appear (Ctrl-C to stop)\n`);
    watch = setInterval(() => {
      if (!existsSync(file)) return;
      clearInterval(watch);
      io.err(`kubetrail: ${safeText(file)} appeared; following it\n`);
    }, pollMs);
  } else if (statSync(file).isDirectory()) {
    throw new KubetrailError('KT_INPUT_READ', `${file} is a directory; -f follows one audit log file`, {
      where: { file, path: '--file' },
      hint: 'name the live audit log file, e.g. -f /var/log/kubernetes/audit/audit.log',
    });
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-tail-'));
  const quarantine = createMemoryQuarantine();
  let reported = 0;
  const source = new FileSource({
    path: file,
    cluster: 'default',
    // Everything in a file that appears later is new (as with `tail -F`), even if its folder appears later.
    startAt: o.fromStart || missing ? 'beginning' : 'end',
    checkpointFile: path.join(dir, 'position.json'),
    quarantine,
    pollMs,
    sink: async (records) => {
      for (const r of records) if (accept(r)) print(r);
      for (; reported < quarantine.all.length; reported++) {
        const b = quarantine.all[reported]!;
        io.err(`kubetrail: ${b.file}:${b.line}: skipped: ${safeText(b.reason)}\n`);
      }
    },
  });
  source.start();
  try {
    await o.stop;
  } finally {
    clearInterval(watch);
    await source.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves on Ctrl-C or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

/**
 * The error for a refused stream: the server's own code when it sent a known one (a body field the token
 * may not name, too many streams), else one chosen by the status.
 */
export function serverError(
  status: number,
  error: { code?: string; hint?: string } | undefined,
  message: string,
): KubetrailError {
  const hint =
    status === 401
      ? 'set KUBETRAIL_TOKEN to a token from `kubetrail token create` (role analyst, or a scoped viewer)'
      : error?.hint;
  const known = error?.code !== undefined && Object.hasOwn(ERROR_CODES, error.code);
  const code: ErrorCode = known
    ? (error.code as ErrorCode)
    : status === 401
      ? 'KT_AUTH_REQUIRED'
      : status === 403
        ? 'KT_FORBIDDEN'
        : status === 400
          ? 'KT_QUERY_SYNTAX'
          : 'KT_SERVER_UNREACHABLE';
  return new KubetrailError(code, message, hint ? { hint } : {});
}

export function registerTailCommand(program: Command, io: Io = processIo()): void {
  program
    .command('tail')
    .description('stream matching events live from a running server, or from a file with -f')
    .argument('[filter]', 'filter expression (default: everything)', '*')
    .option(
      '--server <url>',
      'kubetrail server to stream from (env KUBETRAIL_SERVER)',
      process.env.KUBETRAIL_SERVER ?? 'http://127.0.0.1:7480',
    )
    .option('-f, --file <file>', 'follow this audit log file instead of a server')
    .option('--from-start', 'with -f: print the events already in the file first')
    .option('-o, --output <format>', 'line (colored, for people) or json (one event per line)', 'line')
    .option('--no-color', 'no colors in line output')
    .action(async (filter: string, opts: TailOpts) => {
      const format = choice('--output', opts.output, ['line', 'json'] as const);
      parseQuery(filter); // a bad filter is reported before connecting
      const color = opts.color !== false && Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
      const print = (r: EventRecord) =>
        io.out(format === 'json' ? `${JSON.stringify(r.event)}\n` : tailLine(r, color));
      if (opts.file)
        await followFile(
          { file: opts.file, filter, fromStart: Boolean(opts.fromStart), stop: untilSignal() },
          io,
          print,
        );
      else await tailServer(filter, opts, io, print);
    });
}
