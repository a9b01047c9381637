// `kubetrail token create|list|revoke`: API tokens for the HTTP API and web UI (roles admin, analyst,
// viewer with a scope filter, ingest for the webhook). Tokens are kept hashed in DATADIR/tokens.json; a
// new token is printed once. A running server picks up changes on its own.
import type { Command } from 'commander';
import { KubetrailError } from '../../core/errors.js';
import { ROLES, TokenStore, type Role } from '../../server/auth/tokens.js';
import { choice, n, processIo, type Io } from '../common.js';
import { renderTable } from '../terminal.js';

const dataDirHelp = 'where the server keeps its data';

interface CreateOpts {
  role: string;
  scope?: string;
  name?: string;
  bodies?: boolean;
  cluster?: string;
  dataDir: string;
}

export function registerTokenCommands(program: Command, io: Io = processIo()): void {
  const token = program
    .command('token')
    .description('manage API tokens for the HTTP API and web UI (stored hashed in DATADIR/tokens.json)');

  token
    .command('create')
    .description('create a token and print it (only this once)')
    .requiredOption('--role <role>', `role: ${ROLES.join(', ')}`)
    .option('--scope <filter>', "viewer only: the filter its events must match, e.g. 'ns:(team-a OR team-b)'")
    .option('--name <name>', 'a name for the token (default: ROLE-RANDOM)')
    .option('--bodies', 'viewer only: also show request and response bodies')
    .option('--cluster <name>', 'ingest only: the cluster its webhook events are tagged with')
    .option('--data-dir <dir>', dataDirHelp, './data')
    .action((opts: CreateOpts) => {
      const role: Role = choice('--role', opts.role, ROLES);
      const store = TokenStore.forDataDir(opts.dataDir);
      const { token: secret, record } = store.create({
        role,
        ...(opts.name !== undefined ? { name: opts.name } : {}),
        ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
        ...(opts.bodies ? { bodies: true } : {}),
        ...(opts.cluster !== undefined ? { cluster: opts.cluster } : {}),
      });
      io.out(`${secret}\n`);
      io.err(
        `created token ${JSON.stringify(record.name)} (role ${record.role}${record.scope ? `, scope ${record.scope}` : ''}${record.bodies ? ', with bodies' : ''}${record.cluster ? `, cluster ${record.cluster}` : ''}) in ${store.file}\n` +
          'it is shown only now: keep it somewhere safe\n',
      );
    });

  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--data-dir <dir>', dataDirHelp, './data')
    .option('-o, --output <format>', 'table or json', 'table')
    .action((opts: { dataDir: string; output: string }) => {
      const format = choice('--output', opts.output, ['table', 'json'] as const);
      const tokens = TokenStore.forDataDir(opts.dataDir).list();
      if (format === 'json') {
        io.out(`${JSON.stringify(tokens)}\n`);
        return;
      }
      if (tokens.length === 0) {
        io.err('no tokens; create one with: kubetrail token create --role admin\n');
        return;
      }
      io.out(
        `${renderTable(
          tokens,
          [
            { header: 'NAME', get: (t) => t.name, min: 8, weight: 1 },
            { header: 'ROLE', get: (t) => t.role, min: 7 },
            { header: 'SCOPE', get: (t) => t.scope ?? '-', min: 8, weight: 2 },
            {
              header: 'BODIES',
              get: (t) => (t.role === 'viewer' ? (t.bodies ? 'yes' : 'no') : 'yes'),
              min: 6,
            },
            { header: 'CLUSTER', get: (t) => t.cluster ?? '-', min: 7 },
            { header: 'CREATED', get: (t) => t.created.replace('T', ' ').slice(0, 19), min: 19 },
          ],
          io.width,
        )}\n`,
      );
      io.err(`${n(tokens.length)} token${tokens.length === 1 ? '' : 's'}\n`);
    });

  token
    .command('revoke')
    .description('delete a token; sessions opened with it end at once')
    .argument('<name>', 'the token name (see token list)')
    .option('--data-dir <dir>', dataDirHelp, './data')
    .action((name: string, opts: { dataDir: string }) => {
      const store = TokenStore.forDataDir(opts.dataDir);
      if (!store.revoke(name))
        throw new KubetrailError('KT_NOT_FOUND', `no token is named ${JSON.stringify(name)}`, {
          where: { path: 'NAME' },
          hint: 'kubetrail token list shows the names',
        });
      io.err(`revoked token ${JSON.stringify(name)}\n`);
    });
}
