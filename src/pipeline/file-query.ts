// `query --file` through the topology (src/pipeline/topology.ts), with DuckDB reading the files: for each
// regular file, DuckDB's JSON reader finds the lines that may match the filter
// (src/query/file-scan-sql.ts: a superset, built from the same filter AST and the store's DuckDB
// dialect), while this module walks the same file's lines and decodes, normalizes and redacts only those
// candidates before the JavaScript predicate decides (src/query/file-query.ts). Records set aside keep
// their file and line as in the JavaScript reader, because the lines are counted here.
//
// Whatever DuckDB cannot be sure of is read by the JavaScript reader (src/ingest/read.ts), as before: a
// whole file when DuckDB refuses one of its lines (not JSON, a multi-line document, a byte order mark, a
// lone surrogate, invalid UTF-8, a key twice in an object it reads), when the first line is not plain JSON,
// when DuckDB and this walk disagree on the number of lines, and for standard input and anything that is
// not a regular file. What was taken from a file before such a failure is discarded first, so nothing is
// counted twice.
//
// The matches are always the JavaScript reader's. The count of records set aside can be lower than the
// JavaScript reader's for lines DuckDB reads more leniently than JSON.parse or normalization (a trailing
// comma, a NaN literal, nesting deeper than 512, a non-string user group or annotation value, a null
// response code) when such a line cannot match the filter: it is never decoded, so never set aside.
import { createReadStream, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { EventRecord } from '../core/event.js';
import { BLANK_LINE, decodeLine, type DecodeTarget } from '../ingest/decode.js';
import {
  isGzipFile,
  listInputFiles,
  readEvents,
  type BadRecord,
  type InputFile,
  type Quarantine,
} from '../ingest/index.js';
import { scanSql } from '../query/file-scan-sql.js';
import { NewestMatches, type FileQueryOptions, type FileQueryResult } from '../query/file-query.js';
import type { RedactTransform } from '../redact/index.js';
import { matchesSink } from './sinks/matches.js';
import { buildTopology, type Topology } from './topology.js';

export interface FileQueryRun extends FileQueryOptions {
  inputs: readonly string[];
  cluster: string;
  quarantine: Quarantine;
  /** Redaction, before the filter (as for every event kubetrail prints). */
  redaction: RedactTransform;
  /** Longest record accepted, in bytes (default 64 MiB, as the JavaScript reader). */
  maxRecordBytes?: number;
  /** Use DuckDB for regular files (default true); false reads everything with the JavaScript reader. */
  duckdb?: boolean;
  /** Anchors relative times in the filter (epoch ms). */
  now?: number;
  /** Hears, per file, how it was read (tests and diagnostics). */
  onFile?: (file: string, how: FileRead) => void;
}

export type FileRead = { path: 'duckdb'; candidates: number; lines: number } | { path: 'js'; why: string };

export interface FileQueryOutcome extends FileQueryResult {
  /** How each file was read, in order. */
  files: { file: string; how: FileRead }[];
}

const DEFAULT_MAX = 64 * 1024 * 1024;
const BATCH = 2000;

/** A reason to read the file with the JavaScript reader instead. */
class Fallback extends Error {}

function isRegularFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The numbers of the candidate lines (counting non-blank lines from 1) and how many lines DuckDB read. */
async function candidatesOf(
  conn: DuckDBConnection,
  sql: string,
  params: unknown[],
): Promise<{ lines: number[]; total: number }> {
  const r = await conn.runAndReadAll(sql, params as never);
  const [list, total] = r.getRowsJS()[0] as [bigint[] | null, bigint];
  return { lines: (list ?? []).map(Number), total: Number(total) };
}

/** A line of nothing but spaces, tabs and carriage returns: blank for DuckDB and the JavaScript reader. */
const PLAIN_BLANK = /^[ \t\r]*$/;

async function* bytesOf(path: string, gzip: boolean): AsyncGenerator<Buffer> {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    if (!gzip) {
      yield* raw as AsyncIterable<Buffer>;
      return;
    }
    const gunzip = createGunzip();
    raw.on('error', (err) => gunzip.destroy(err));
    raw.pipe(gunzip);
    try {
      yield* gunzip as AsyncIterable<Buffer>;
    } finally {
      gunzip.destroy();
    }
  } finally {
    raw.destroy();
  }
}

/** Reads one file the DuckDB way into `matches`; throws Fallback when it cannot be sure. */
async function scanFile(
  conn: DuckDBConnection,
  f: InputFile,
  run: FileQueryRun,
  topology: Topology,
  into: { matches: NewestMatches; bad: BadRecord[] },
): Promise<{ candidates: number; lines: number }> {
  const max = run.maxRecordBytes ?? DEFAULT_MAX;
  const gzip = isGzipFile(f.path);
  const q = scanSql(f.path, run.filter, {
    cluster: run.cluster,
    pseudonymized: run.redaction.redactor.options.pseudonymizer !== undefined,
    gzip,
    maxLineBytes: max,
    ...(run.since !== undefined ? { since: run.since } : {}),
    ...(run.until !== undefined ? { until: run.until } : {}),
    ...(run.now !== undefined ? { now: run.now } : {}),
  });
  if (q.everything) throw new Fallback('the filter leaves every line a candidate');
  let picked: { lines: number[]; total: number };
  try {
    picked = await candidatesOf(conn, q.sql, q.params);
  } catch (err) {
    throw new Fallback(`DuckDB: ${(err as Error).message.split('\n')[0]}`);
  }
  let nonBlank = 0;
  let next = 0;
  const quarantine: Quarantine = {
    add: (b) => void into.bad.push(b),
    get count() {
      return into.bad.length;
    },
    samples: [],
    close: async () => undefined,
  };
  let batch: EventRecord[] = [];
  const target: DecodeTarget = { file: f.path, cluster: run.cluster, quarantine, out: batch };
  const deliver = async () => {
    let out = batch;
    batch = [];
    target.out = batch;
    for (const t of topology.transforms) {
      if (out.length === 0) break;
      out = await t.apply(out);
    }
    if (out.length > 0) await topology.sinks.write(out, 'query --file');
  };
  let line = 0;
  let first = true;
  let candidates = 0;
  let invalidFirst = false;
  const firstLine = {
    dropBom: true,
    onInvalid: () => {
      invalidFirst = true;
      return true;
    },
  };
  const decode = (text: string, endOfInput: boolean) => {
    const r = decodeLine(text, line, target, first ? firstLine : endOfInput ? { endOfInput } : {});
    if (invalidFirst) throw new Fallback('the first line is not plain JSON');
    return r;
  };
  /** One line of bytes (without its newline). */
  const take = async (buf: Buffer, start: number, end: number, endOfInput: boolean) => {
    line++;
    if (end - start > max) throw new Fallback('a line is longer than the maximum');
    let text: string | undefined;
    if (buf[start] !== 0x7b /* { */) {
      text = buf.toString('utf8', start, end);
      const t = text.endsWith('\r') ? text.slice(0, -1) : text;
      if (t.trim() === '') {
        if (!PLAIN_BLANK.test(text)) throw new Fallback('a line of white space DuckDB may not skip');
        return;
      }
    }
    nonBlank++;
    const flag = picked.lines[next] === nonBlank;
    if (flag) next++;
    // The first line is always decoded: it decides whether the input is one document spanning lines.
    if (!flag && !first) return;
    text ??= buf.toString('utf8', start, end);
    const r = decode(text, endOfInput);
    if (r !== BLANK_LINE) first = false;
    if (flag) candidates++;
    if (batch.length >= BATCH) await deliver();
  };
  /** Past the first line and the last candidate: nothing left to decode. */
  const finished = () => !first && next >= picked.lines.length;
  let stopped = false;
  try {
    let carry: Buffer | undefined;
    for await (const chunk of bytesOf(f.path, gzip)) {
      if (finished()) {
        stopped = true;
        break;
      }
      let buf = chunk;
      let start = 0;
      if (carry) {
        const nl = chunk.indexOf(0x0a);
        if (nl < 0) {
          carry = Buffer.concat([carry, chunk]);
          if (carry.length > max + 1) throw new Fallback('a line is longer than the maximum');
          continue;
        }
        const joined = Buffer.concat([carry, chunk.subarray(0, nl)]);
        carry = undefined;
        await take(joined, 0, joined.length, false);
        start = nl + 1;
      }
      for (;;) {
        if (finished()) break;
        const nl = buf.indexOf(0x0a, start);
        if (nl < 0) break;
        await take(buf, start, nl, false);
        start = nl + 1;
      }
      if (start < buf.length) carry = Buffer.from(buf.subarray(start));
      buf = chunk;
    }
    if (finished()) stopped = true;
    if (!stopped && carry) await take(carry, 0, carry.length, true);
    // DuckDB skips the same blank lines as this walk (white space only), so its line numbers are this
    // walk's; when the walk reached the end, the counts must agree too.
    if (!stopped && nonBlank !== picked.total) throw new Fallback('DuckDB read another number of lines');
    await deliver();
  } catch (err) {
    if (err instanceof Fallback) throw err;
    // A DuckDB error while streaming (a line it refuses), or a corrupt gzip stream: the JavaScript
    // reader reads the file again and reports what it finds, as before.
    throw new Fallback((err as Error).message.split('\n')[0]);
  }
  return { candidates, lines: stopped || finished() ? picked.total : line };
}

/** Reads one input with the JavaScript reader, every record decoded (the path before DuckDB). */
async function readFile(f: InputFile, run: FileQueryRun, topology: Topology): Promise<void> {
  const source = readEvents([f.path], {
    cluster: run.cluster,
    quarantine: run.quarantine,
    ...(run.maxRecordBytes !== undefined ? { maxRecordBytes: run.maxRecordBytes } : {}),
  });
  for await (const batch of source) {
    let out = batch;
    for (const t of topology.transforms) {
      if (out.length === 0) break;
      out = await t.apply(out);
    }
    if (out.length > 0) await topology.sinks.write(out, 'query --file');
  }
}

/** Runs `query --file`: the newest (or oldest) matches of the inputs and their count. */
export async function queryFiles(run: FileQueryRun): Promise<FileQueryOutcome> {
  const files = await listInputFiles(run.inputs);
  const opts: FileQueryOptions = {
    filter: run.filter,
    limit: run.limit,
    ...(run.since !== undefined ? { since: run.since } : {}),
    ...(run.until !== undefined ? { until: run.until } : {}),
    ...(run.order ? { order: run.order } : {}),
  };
  const all = new NewestMatches(opts, run.now);
  let current = all;
  // The pipeline's topology with the matches as its one sink: redaction, no size cap, no store.
  const topology = buildTopology({
    maxEventBytes: false,
    redaction: run.redaction,
    sinks: {},
    sinkFactories: [matchesSink({ add: (records) => current.add(records) })],
  });
  const onlyRedaction = topology.transforms.every((t) => t === run.redaction);
  const read: FileQueryOutcome['files'] = [];
  const note = (file: string, how: FileRead) => {
    read.push({ file, how });
    run.onFile?.(file, how);
  };
  let instance: DuckDBInstance | undefined;
  let conn: DuckDBConnection | undefined;
  try {
    for (const f of files) {
      const name = f.path === '-' ? '<stdin>' : f.path;
      let why = 'standard input';
      if (f.path !== '-') {
        why = !onlyRedaction
          ? 'a transform other than redaction'
          : run.duckdb === false
            ? 'DuckDB not asked for'
            : !isRegularFile(f.path)
              ? 'not a regular file'
              : '';
      }
      if (!why) {
        instance ??= await DuckDBInstance.create(':memory:', {
          memory_limit: '512MB',
          preserve_insertion_order: 'true',
        });
        conn ??= await instance.connect();
        const mine = { matches: new NewestMatches(opts, run.now), bad: [] as BadRecord[] };
        current = mine.matches;
        try {
          const r = await scanFile(conn, f, run, topology, mine);
          for (const b of mine.bad) run.quarantine.add(b);
          all.merge(mine.matches);
          note(name, { path: 'duckdb', ...r });
          continue;
        } catch (err) {
          if (!(err instanceof Fallback)) throw err;
          why = err.message;
          // A stream still open on the connection is dropped with it.
          conn.closeSync();
          conn = undefined;
        } finally {
          current = all;
        }
      }
      await readFile(f, run, topology);
      note(name, { path: 'js', why });
    }
  } finally {
    conn?.closeSync();
    instance?.closeSync();
    await topology.close();
  }
  return { ...all.result(), files: read };
}
