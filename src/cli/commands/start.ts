// `kubetrail start` (what `npm start` runs): opens the default store, loads the demo data set when the
// store is empty (the day that ends now, run through the built-in detection rules as `import --detect`
// does, so its incidents are on the Alerts page), prints a summary with queries to try, then runs the
// server on it (as `kubetrail serve`) until interrupted; `--no-serve` stops after the summary.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import type { AuditEvent, EventRecord } from '../../core/event.js';
import { KubetrailError } from '../../core/errors.js';
import { openDetection } from '../../detect/session.js';
import { DEMO_INCIDENTS, demoEvents, type DemoOptions } from '../../generate/index.js';
import { runImport } from '../../pipeline/import.js';
import { redactTransform } from '../../redact/index.js';
import { microsToTime } from '../../core/time.js';
import { parseQuery } from '../../query/index.js';
import { openStore } from '../../store/open.js';
import type { Store } from '../../store/store.js';
import { dbLocation, dbOption, keyFileOption, storeOptions, n, processIo, type Io } from '../common.js';
import { Progress, rate } from '../progress.js';
import { resolveServeConfig, serveBanner, serveUntilSignal } from './serve.js';

async function* batches(
  events: Iterable<AuditEvent>,
  cluster: string,
  size = 5000,
): AsyncGenerator<EventRecord[]> {
  let batch: EventRecord[] = [];
  for (const event of events) {
    batch.push({ cluster, event });
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

export interface LoadDemoOptions extends DemoOptions {
  /** Detection's local state file for a store that does not keep it itself (ClickHouse). */
  stateFile?: string;
}

/**
 * Loads the demo day into an empty store and stores the alerts the built-in rules raise on it; returns
 * the number of events stored (0 when the store was not empty).
 */
export async function loadDemoIfEmpty(store: Store, io: Io, opts: LoadDemoOptions = {}): Promise<number> {
  if (await store.span()) return 0;
  const { stateFile, ...demo } = opts;
  const detection = await openDetection(store, { resume: false, ...(stateFile ? { stateFile } : {}) });
  const progress = new Progress('loading demo data', io.err, io.interactive);
  let summary;
  try {
    summary = await runImport({
      source: batches(demoEvents(demo), 'demo'),
      store,
      redaction: redactTransform(),
      detection: detection.transform,
      onBatch: (p) => progress.update({ bytesRead: 0, totalBytes: undefined, events: p.read }),
    });
  } finally {
    progress.done();
    await detection.finish();
  }
  io.err(
    `loaded the demo data set: ${n(summary.stored)} events in ${summary.seconds.toFixed(1)}s (${rate(summary.rate)} events/s), ${n(detection.stored)} alerts\n`,
  );
  return summary.stored;
}

export async function summarize(store: Store, db: string): Promise<string> {
  const span = await store.span();
  if (!span) return `The store at ${db} is empty.\n`;
  const users = await store.stats({ filter: parseQuery('-user:system:*'), by: 'user', limit: 5 });
  const denied = await store.count(parseQuery('code:(401 OR 403)'));
  const lines = [
    `Store: ${db}`,
    `Events: ${n(span.events)} from ${microsToTime(span.first)} to ${microsToTime(span.last)}`,
    `Denied requests (401/403): ${n(denied)}`,
    `Top people: ${users.map((u) => `${u.value ?? '(none)'} (${n(u.count)})`).join(', ')}`,
    '',
  ];
  const demo = await store.count(parseQuery('cluster:demo'));
  if (demo > 0) {
    lines.push('The demo day has these incidents; find each with:');
    for (const inc of DEMO_INCIDENTS)
      lines.push(`  ${inc.title.padEnd(44)} npx kubetrail query '${inc.filter}'`);
    lines.push('');
  }
  lines.push(
    'Try:',
    `  npx kubetrail query 'code:403' --since 30d`,
    `  npx kubetrail stats --by user 'resource:secrets'`,
    `  npx kubetrail history -n payments deployment/billing`,
    '',
  );
  return lines.join('\n');
}

/** The command itself, when run from the built package (not from the sources under test). */
const BIN = fileURLToPath(new URL('../../../../bin/kubetrail.js', import.meta.url));

/** Runs `kubetrail start --no-serve --db DB [--key-file FILE]` (load the demo, print the summary) with this terminal. */
async function loadInChild(db: string, keyFile: string | undefined): Promise<void> {
  const args = [BIN, 'start', '--no-serve', '--db', db, ...(keyFile ? ['--key-file', keyFile] : [])];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0)
    throw new KubetrailError('KT_STORE_WRITE', `loading the demo data set into ${db} failed (exit ${code})`);
}

export function registerStartCommand(program: Command, io: Io = processIo()): void {
  program
    .command('start')
    .description(
      'load the demo data set into the default store when it is empty, print a summary, and run the server',
    )
    .addOption(dbOption())
    .addOption(keyFileOption())
    .option('--listen <host:port>', 'address for the server (default 127.0.0.1:7480)')
    .option('--no-serve', 'stop after loading and printing the summary')
    .action(async (opts: { db?: string; keyFile?: string; listen?: string; serve: boolean }) => {
      const db = dbLocation(opts.db);
      const dataDir = path.dirname(path.resolve(db.replace(/^duckdb:/, '')));
      const store = await openStore(db, storeOptions(opts));
      let loadApart: boolean;
      try {
        // Before serving, an empty store is loaded by a child process (`start --no-serve`): what the
        // load allocates (the JavaScript heap, DuckDB's buffers, the allocator's arenas) is returned
        // when it exits, so that the server starts small.
        loadApart = opts.serve && existsSync(BIN) && !(await store.span());
        if (!loadApart) {
          await loadDemoIfEmpty(store, io, { stateFile: path.join(dataDir, 'detect.duckdb') });
          io.out(await summarize(store, db));
        }
      } finally {
        await store.close();
      }
      if (loadApart) await loadInChild(db, opts.keyFile);
      if (!opts.serve) return;
      const config = resolveServeConfig({
        db,
        tail: [],
        ...(opts.listen ? { listen: opts.listen } : {}),
        ...(opts.keyFile ? { keyFile: opts.keyFile } : {}),
        dataDir,
      });
      const { startCollector } = await import('../../server/collector.js');
      const collector = await startCollector({ config });
      io.out(serveBanner(collector));
      // A login token for the demo: the token named demo-admin is replaced at each start (only its hash is
      // kept, so an earlier one cannot be shown again).
      const { token } = collector.auth.tokens.create(
        { role: 'admin', name: 'demo-admin' },
        { replace: true },
      );
      io.out(`\n  open ${collector.url}/ and log in with this admin token:\n  ${token}\n\n`);
      await serveUntilSignal(collector, io);
    });
}
