// `kubetrail token` end to end with the built CLI (`npm run build` first): a token created, listed and
// revoked from the command line is honored and then refused by a running server, which re-reads the
// token file on its own; the file holds only hashes and is private to its owner.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../config/schema.js';
import { startCollector } from '../../server/collector.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = path.join(root, 'bin', 'kubetrail.js');
const dir = mkdtempSync(path.join(tmpdir(), 'kt-token-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('kubetrail token (built CLI)', () => {
  it('creates, lists and revokes tokens that a running server honors', async () => {
    execFileSync(process.execPath, [bin, '--version']);
    const c = await startCollector({
      config: configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false }),
      logger: pino({ level: 'silent' }),
    });
    try {
      const me = (token: string) =>
        fetch(`${c.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        }));
      const created = cli(
        'token',
        'create',
        '--role',
        'viewer',
        '--scope',
        'ns:team-a',
        '--name',
        'alice',
        '--data-dir',
        dir,
      );
      expect(created.status).toBe(0);
      const token = created.stdout.trim();
      expect(token).toMatch(/^kt_[A-Za-z0-9_-]{43}$/);
      expect(created.stderr).toContain('alice');
      const file = path.join(dir, 'tokens.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).not.toContain(token);

      await new Promise((r) => setTimeout(r, 300));
      expect(await me(token)).toMatchObject({
        status: 200,
        body: { name: 'alice', role: 'viewer', scope: 'ns:team-a' },
      });

      const list = cli('token', 'list', '-o', 'json', '--data-dir', dir);
      expect(list.status).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([
        { name: 'alice', role: 'viewer', scope: 'ns:team-a', bodies: false, created: expect.any(String) },
      ]);
      expect(list.stdout).not.toContain(token);
      const table = cli('token', 'list', '--data-dir', dir);
      expect(table.stdout).toMatch(/NAME\s+ROLE\s+SCOPE/);
      expect(table.stdout).not.toContain(token);

      const dup = cli('token', 'create', '--role', 'admin', '--name', 'alice', '--data-dir', dir);
      expect(dup.status).toBe(2);
      expect(dup.stderr).toContain('exists already');
      const noScope = cli('token', 'create', '--role', 'viewer', '--data-dir', dir);
      expect(noScope.status).toBe(2);
      expect(noScope.stderr).toContain('--scope');
      const badScope = cli('token', 'create', '--role', 'viewer', '--scope', 'ns:(a', '--data-dir', dir);
      expect(badScope.status).toBe(2);
      expect(badScope.stderr).toContain('KT_QUERY_SYNTAX');
      expect(cli('token', 'create', '--role', 'root', '--data-dir', dir).status).toBe(2);

      expect(cli('token', 'revoke', 'alice', '--data-dir', dir).status).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect((await me(token)).status).toBe(401);
      const again = cli('token', 'revoke', 'alice', '--data-dir', dir);
      expect(again.status).toBe(1);
      expect(again.stderr).toContain('KT_NOT_FOUND');
    } finally {
      await c.close();
    }
  });
});
