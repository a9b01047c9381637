// `kubetrail demo --out FILE`: writes the demo data set (the day of the simulated cluster that ends now,
// with its incidents) as an audit log file, one `audit.k8s.io/v1` Event per line as the API server's log
// backend writes them, to try `import`, `query --file`, `policy simulate` or `scan` on. `--events N`
// makes the day denser or sparser (about N events; the incidents are always in it). An existing file is
// kept unless `--force`; `--out -` writes to standard output. A file left half written by an error is
// removed.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { DEMO_DEFAULT_EVENTS, demoEvents } from '../../generate/index.js';
import { n, processIo, type Io } from '../common.js';
import { Progress } from '../progress.js';

/** The most events `--events` accepts (about 80 GB of JSON lines). */
export const MAX_DEMO_EVENTS = 100_000_000;
const CHUNK_BYTES = 1 << 20;

export interface WriteDemoOptions {
  /** A path, or '-' for standard output. */
  out: string;
  events?: number;
  force?: boolean;
  /** The moment the demo is generated at (epoch ms, default now). */
  now?: number;
}

export function parseEventCount(text: string): number {
  const v = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= 1 && v <= MAX_DEMO_EVENTS)) {
    throw new KubetrailError(
      'KT_USAGE',
      `--events takes a whole number from 1 to ${n(MAX_DEMO_EVENTS)}, not ${JSON.stringify(text)}`,
      { where: { path: '--events' } },
    );
  }
  return v;
}

async function openOutput(file: string, force: boolean): Promise<FileHandle> {
  try {
    return await open(file, force ? 'w' : 'wx', 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new KubetrailError('KT_OUTPUT_EXISTS', `${file} already exists`, {
        where: { file },
        hint: 'pass --force to overwrite it, or choose another path',
      });
    throw new KubetrailError('KT_OUTPUT_WRITE', `cannot create ${file}: ${(err as Error).message}`, {
      where: { file },
    });
  }
}

/** Writes the demo data set; resolves to the events and bytes written. */
export async function writeDemo(opts: WriteDemoOptions, io: Io): Promise<{ events: number; bytes: number }> {
  const toStdout = opts.out === '-';
  const fh = toStdout ? undefined : await openOutput(opts.out, opts.force ?? false);
  const progress = new Progress('writing demo data', io.err, io.interactive);
  let events = 0;
  let bytes = 0;
  let buf = '';
  const flush = async () => {
    if (buf.length === 0) return;
    const chunk = buf;
    buf = '';
    bytes += Buffer.byteLength(chunk);
    if (fh) await fh.write(chunk);
    else io.out(chunk);
    progress.update({ bytesRead: bytes, totalBytes: undefined, events });
  };
  try {
    for (const e of demoEvents({
      ...(opts.events !== undefined ? { events: opts.events } : {}),
      ...(opts.now !== undefined ? { now: opts.now } : {}),
    })) {
      buf += `${JSON.stringify(e)}\n`;
      events++;
      if (buf.length >= CHUNK_BYTES) await flush();
    }
    await flush();
    if (fh) await fh.sync();
  } catch (err) {
    progress.done();
    if (fh) {
      await fh.close().catch(() => undefined);
      await unlink(opts.out).catch(() => undefined);
    }
    if (err instanceof KubetrailError) throw err;
    throw new KubetrailError(
      'KT_OUTPUT_WRITE',
      `cannot write ${toStdout ? 'standard output' : opts.out}: ${(err as Error).message}`,
      toStdout ? {} : { where: { file: opts.out } },
    );
  }
  progress.done();
  if (fh) await fh.close();
  return { events, bytes };
}

export function registerDemoCommand(program: Command, io: Io = processIo()): void {
  program
    .command('demo')
    .description(
      'write the demo data set (a day of a small cluster ending now, with security incidents) as an audit log file',
    )
    .requiredOption('--out <file>', 'file to write, JSON lines as the API server writes them (- for stdout)')
    .option(
      '--events <n>',
      `about how many events (default about ${n(DEMO_DEFAULT_EVENTS)}; the incidents are always included)`,
    )
    .option('--force', 'overwrite the file if it exists')
    .action(async (opts: { out: string; events?: string; force?: boolean }) => {
      const events = opts.events === undefined ? undefined : parseEventCount(opts.events);
      const res = await writeDemo(
        { out: opts.out, force: opts.force ?? false, ...(events !== undefined ? { events } : {}) },
        io,
      );
      if (opts.out === '-') return;
      const mb = (res.bytes / 1024 / 1024).toFixed(1);
      io.err(
        `wrote ${n(res.events)} events (${mb} MB) to ${opts.out}\n` +
          `try: kubetrail import ${opts.out} --db demo.duckdb\n` +
          `     kubetrail query --file ${opts.out} 'subresource:exec'\n` +
          `     kubetrail policy simulate --policy audit-policy.yaml ${opts.out}\n`,
      );
    });
}
