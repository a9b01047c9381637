// Helpers shared by CLI commands: option parsing (time ranges, formats, limits), where output goes (and
// what happens when its reader goes away), and which store to open.
import type { EventEmitter } from 'node:events';
import { Option } from 'commander';
import { parseTimeArg } from '../core/duration.js';
import { KubetrailError } from '../core/errors.js';
import type { DataKey } from '../crypto/cipher.js';
import { resolveDataKey } from '../crypto/key-file.js';
import type { OpenOptions } from '../store/backend.js';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Width of the terminal for tables. */
  width: number;
  /** Whether stderr is a terminal (progress bars, colors). */
  interactive: boolean;
  /** Whether stdout is a terminal: tables are then fitted to `width`; in a pipe `-o wide` is never cut. */
  terminal?: boolean;
  /** Exit status a command asks for without failing (1 for "nothing found" and the like). */
  exitCode?: number;
}

/**
 * Standard output whose reader has gone (`kubetrail query -o ndjson | head -1`): the command stops at once
 * and quietly with exit status 0, as ripgrep does (C tools die of SIGPIPE, which Node ignores and turns
 * into an EPIPE error that would otherwise crash with a stack trace). Any other write error on standard
 * output is reported in one line with exit status 3. Errors writing standard error are ignored: there is
 * nowhere left to report them.
 */
export function stopOnClosedOutput(
  stdout: EventEmitter,
  stderr: EventEmitter,
  exit: (code: number) => void = (code) => process.exit(code),
  report: (text: string) => void = (t) => void process.stderr.write(t),
): void {
  stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') return exit(0);
    try {
      report(`kubetrail: cannot write the output: ${err.message}\n`);
    } finally {
      exit(3);
    }
  });
  stderr.on('error', () => undefined);
}

let outputGuarded = false;

export function processIo(): Io {
  if (!outputGuarded) {
    outputGuarded = true;
    stopOnClosedOutput(process.stdout, process.stderr);
  }
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    width:
      process.stdout.isTTY && process.stdout.columns
        ? process.stdout.columns
        : Number(process.env.COLUMNS) || 160,
    interactive: Boolean(process.stderr.isTTY) && !process.env.CI,
    terminal: Boolean(process.stdout.isTTY),
  };
}

/** The store location: --db, else KUBETRAIL_DB, else ./data/kubetrail.duckdb. */
export function dbLocation(opt: string | undefined): string {
  return opt ?? process.env.KUBETRAIL_DB ?? './data/kubetrail.duckdb';
}

export const dbOption = () =>
  new Option('--db <path>', 'store to use (env KUBETRAIL_DB; default ./data/kubetrail.duckdb)');

/** --key-file: the data key of an encrypted store (docs/security.md, "Encryption at rest"). */
export const keyFileOption = () =>
  new Option(
    '--key-file <file>',
    'data key of an encrypted store, mode 0600 (env KUBETRAIL_KEY_FILE; kubetrail key create --out FILE)',
  );

/** The data key a command uses: --key-file, else KUBETRAIL_KEY_FILE, else none. */
export function dataKey(opts: { keyFile?: string | undefined }): DataKey | undefined {
  return resolveDataKey({ flag: opts.keyFile, env: process.env });
}

/** How a command opens its store: `more`, with the data key from --key-file or KUBETRAIL_KEY_FILE. */
export function storeOptions(opts: { keyFile?: string | undefined }, more: OpenOptions = {}): OpenOptions {
  const key = dataKey(opts);
  return key ? { ...more, key } : more;
}

/** Where detection keeps its state and outbox beside a ClickHouse store: --state, else ./data/detect.duckdb. */
export function stateLocation(opt: string | undefined): string {
  return opt ?? './data/detect.duckdb';
}

/** --state: the local detection state of a ClickHouse store (a DuckDB store keeps it itself). */
export const stateOption = (when: string) =>
  new Option(
    '--state <file>',
    `${when} on a ClickHouse store: local file for detection's state and outbox (default ./data/detect.duckdb)`,
  );

/** Parses --since/--until into epoch microseconds. */
export function timeRange(
  opts: { since?: string; until?: string },
  now = Date.now(),
): { since?: number; until?: number } {
  const out: { since?: number; until?: number } = {};
  for (const key of ['since', 'until'] as const) {
    const text = opts[key];
    if (text === undefined) continue;
    const ms = parseTimeArg(text, now);
    if (ms === undefined) {
      throw new KubetrailError(
        'KT_TIME_INVALID',
        `--${key} ${JSON.stringify(text)} is neither a duration nor a time`,
        {
          where: { path: `--${key}` },
        },
      );
    }
    out[key] = ms * 1000;
  }
  if (out.since !== undefined && out.until !== undefined && out.since >= out.until) {
    throw new KubetrailError('KT_TIME_INVALID', '--since must be before --until', {
      where: { path: '--since' },
    });
  }
  return out;
}

export function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new KubetrailError('KT_USAGE', `--limit takes a whole number ≥ 1, not ${JSON.stringify(text)}`, {
      where: { path: '--limit' },
    });
  }
  return n;
}

export function choice<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new KubetrailError(
    'KT_USAGE',
    `${flag} must be one of ${allowed.join(', ')}, not ${JSON.stringify(value)}`,
    {
      where: { path: flag },
    },
  );
}

/** Renders a count with thousands separators. */
export function n(value: number): string {
  return value.toLocaleString('en-US');
}

/** Option parser for repeatable options: `--file a --file b` → ['a', 'b']. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
