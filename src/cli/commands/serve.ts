// `kubetrail serve`: the live collector (file sources, audit webhook, live stream, metrics) until SIGTERM
// or SIGINT; and `kubetrail validate`: checks a configuration file without starting anything.
import { Option, type Command } from 'commander';
import { defaultConfig, describe, loadConfig, ConfigError } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { KubetrailError } from '../../core/errors.js';
import { resolveKeyFile } from '../../crypto/key-file.js';
import type { Collector } from '../../server/collector.js';
import { ipListOptions } from '../../detect/ip-list.js';
import { forwardFromSpec } from '../../forward/options.js';
import { parseSpec } from '../../forward/spec.js';
import { choice, collect, keyFileOption, processIo, type Io } from '../common.js';

export interface ServeFlags {
  config?: string;
  db?: string;
  store?: string;
  listen?: string;
  tail: string[];
  cluster?: string;
  dataDir?: string;
  role?: string;
  ipList?: string[];
  forward?: string[];
  tlsCert?: string;
  tlsKey?: string;
  keyFile?: string;
}

/** The configuration a serve run uses: the file (or defaults), then environment, then flags. */
export function resolveServeConfig(flags: ServeFlags, env: NodeJS.ProcessEnv = process.env): Config {
  const config = flags.config ? loadConfig(flags.config) : defaultConfig();
  const db = flags.db ?? flags.store ?? env.KUBETRAIL_DB;
  if (db) config.db = db.replace(/^duckdb:/, '');
  if (flags.dataDir) config.dataDir = flags.dataDir;
  if (flags.listen) {
    if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(flags.listen))
      throw new KubetrailError('KT_USAGE', `--listen ${JSON.stringify(flags.listen)} is not HOST:PORT`, {
        where: { path: '--listen' },
        hint: 'e.g. --listen 127.0.0.1:7480, or 0.0.0.0:7480 to accept other machines (with credentials)',
      });
    config.listen = flags.listen;
  }
  if (flags.tlsCert !== undefined || flags.tlsKey !== undefined) {
    if (!flags.tlsCert || !flags.tlsKey)
      throw new KubetrailError('KT_USAGE', 'TLS needs both a certificate and its key', {
        where: { path: flags.tlsCert ? '--tls-key' : '--tls-cert' },
        hint: 'pass --tls-cert FILE and --tls-key FILE together (PEM files)',
      });
    config.tls = { ...config.tls, cert: flags.tlsCert, key: flags.tlsKey };
  }
  // The data key: --key-file, else KUBETRAIL_KEY_FILE, else encryption.keyFile (one resolver).
  const key = resolveKeyFile({ flag: flags.keyFile, env, config: config.encryption.keyFile });
  if (key) config.encryption = { ...config.encryption, keyFile: key.file };
  if (flags.cluster) config.cluster = flags.cluster;
  if (flags.role !== undefined) config.role = choice('--role', flags.role, ['all', 'api'] as const);
  if (flags.ipList && flags.ipList.length > 0)
    config.detect.ipLists = { ...config.detect.ipLists, ...ipListOptions(flags.ipList) };
  for (const spec of flags.forward ?? []) {
    parseSpec(spec, '--forward');
    config.forward.push(forwardFromSpec(spec));
  }
  return config;
}

/** Runs until a signal; resolves once everything is flushed and closed. */
export async function serveUntilSignal(collector: Collector, io: Io): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        io.err(`kubetrail: ${signal} again: exiting without flushing\n`);
        process.exit(130);
      }
      stopping = true;
      io.err(`kubetrail: ${signal}: stopping (flushing what was accepted)\n`);
      collector.close().then(resolve, (err: unknown) => {
        io.err(`kubetrail: error while stopping: ${(err as Error).message}\n`);
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export function serveBanner(c: Collector): string {
  const lines = [`kubetrail is collecting on ${c.url}`, `  webhook:  POST ${c.url}/webhook[/CLUSTER]`];
  lines.push(`  live:     KUBETRAIL_TOKEN=… kubetrail tail --server ${c.url} [FILTER]`);
  lines.push(`  metrics:  ${c.url}/metrics`);
  for (const s of c.sources) lines.push(`  following ${s.name.slice('file:'.length)}`);
  if (c.sources.length === 0)
    lines.push('  no audit log file to follow (use --tail FILE or files: in --config)');
  return `${lines.join('\n')}\n`;
}

export function registerServeCommands(program: Command, io: Io = processIo()): void {
  program
    .command('serve')
    .description('run the live collector: follow audit log files, receive the audit webhook, stream live')
    .option('--config <file>', 'configuration file (YAML or JSON); every key is in docs/configuration.md')
    .addOption(
      new Option(
        '--db <path>',
        'store: a DuckDB file or clickhouse://… (env KUBETRAIL_DB; default DATADIR/kubetrail.duckdb)',
      ),
    )
    .addOption(
      new Option(
        '--store <location>',
        'same as --db; e.g. clickhouse://USER:PASSWORD@HOST:8123/DATABASE',
      ).conflicts('db'),
    )
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:7480)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM; with --tls-key)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .addOption(keyFileOption())
    .option('--tail <file>', 'audit log file to follow (repeatable)', collect, [])
    .option(
      '--ip-list <name=file>',
      'IP list rules name with ipList: (tor-exit-nodes=FILE), re-read when the file changes (repeatable)',
      collect,
      [],
    )
    .option(
      '--forward <spec>',
      'forward events to elasticsearch:URL, opensearch:URL, splunk:URL, loki:URL, syslog:tcp://HOST:PORT, syslog:tls://HOST:PORT, otlp:URL, http:URL or file:PATH (repeatable; docs/forwarding.md)',
      collect,
      [],
    )
    .option('--cluster <name>', 'cluster name for events whose source names none')
    .option('--data-dir <dir>', 'where the store, checkpoints and quarantine live (default ./data)')
    .option(
      '--role <role>',
      'all (default): sources, webhook, detection, API and UI; api: only the API and UI over the store',
    )
    .action(async (flags: ServeFlags) => {
      const config = resolveServeConfig(flags);
      const { startCollector } = await import('../../server/collector.js');
      const collector = await startCollector({ config, tail: flags.tail });
      io.out(serveBanner(collector));
      await serveUntilSignal(collector, io);
    });

  program
    .command('validate')
    .description('check a configuration file without starting anything (exit 2 when it is not valid)')
    .requiredOption('--config <file>', 'configuration file to check')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((opts: { config: string; output: string }) => {
      try {
        const config = loadConfig(opts.config);
        if (opts.output === 'json') io.out(`${JSON.stringify({ valid: true, config })}\n`);
        else io.out(`${opts.config}: valid\n`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        if (opts.output === 'json') {
          io.out(`${JSON.stringify({ valid: false, code: err.code, problems: err.problems })}\n`);
        } else {
          for (const p of err.problems) io.err(`${describe(opts.config, p)}\n`);
          io.err(
            `${opts.config}: ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'} (${err.code})\n`,
          );
        }
        io.exitCode = 2;
      }
    });
}
