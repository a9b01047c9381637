// The container's promise, checked without a container engine: the built server runs as the image's user
// (10001; root without capabilities, as node mode runs it, when that user cannot read the checkout) on a
// read-only root file system with only its data directory writable, as the manifests of deploy/ run it
// (readOnlyRootFilesystem). A private mount namespace (unshare) remounts `/` read-only;
// the server receives a webhook batch, stores it, answers /readyz and /metrics, and stops cleanly on
// SIGTERM without a write error. Needs root (for the mount namespace) and the built CLI (dist/).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from './test-support/events.js';
import { available, BUILD, repoRoot } from './test-support/requirements.js';
import { freePort } from './test-support/net.js';

const has = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const canIsolate = process.getuid?.() === 0 && has('unshare') && has('setpriv');
const runnable = canIsolate && available(BUILD);

/** Whether the image's user could read the checkout (a clone under a private home directory is not). */
function readableByImageUser(): boolean {
  try {
    execFileSync(
      'setpriv',
      [
        '--reuid',
        '10001',
        '--regid',
        '10001',
        '--clear-groups',
        'test',
        '-r',
        path.join(repoRoot, 'bin/kubetrail.js'),
      ],
      { stdio: 'ignore' },
    );
    return true;
  } catch {
    return false;
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the server on a read-only root file system', () => {
  it.skipIf(!runnable)('runs as the image user writing only its data directory', async () => {
    // As uid 10001 like the image; as root without capabilities (the node mode) when 10001 cannot read
    // the checkout. Either way only the data directory is writable.
    const uid = readableByImageUser() ? 10001 : 0;
    const data = mkdtempSync(path.join(tmpdir(), 'kt-readonly-'));
    dirs.push(data);
    chownSync(data, uid, uid);
    chmodSync(data, 0o700);
    const port = await freePort();
    const script = [
      'set -e',
      `mount --bind '${data}' '${data}'`,
      'mount --bind / /',
      'mount -o remount,bind,ro /',
      // The root is read-only from here on: a write anywhere else must fail.
      'if touch /kubetrail-readonly-probe 2>/dev/null; then exit 97; fi',
      `exec setpriv --reuid ${uid} --regid ${uid} --clear-groups${uid === 0 ? ' --inh-caps=-all --bounding-set=-all' : ''} env HOME=/nonexistent node '${path.join(repoRoot, 'bin/kubetrail.js')}' serve --data-dir '${data}' --listen 127.0.0.1:${port}`,
    ].join('\n');
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const ok = await fetch(`${url}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`the server did not start (exit ${child.exitCode}): ${stderr.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const items = Array.from({ length: 20 }, () => makeEvent());
      const res = await fetch(`${url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items }),
      });
      expect(res.status).toBe(200);
      let metrics = '';
      for (let i = 0; i < 100 && !/^kubetrail_events_stored_total\{[^}]*\} 20$/m.test(metrics); i++) {
        await new Promise((r) => setTimeout(r, 100));
        metrics = await (await fetch(`${url}/metrics`)).text();
      }
      expect(metrics).toMatch(/^kubetrail_events_stored_total\{source="webhook:default"\} 20$/m);
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EROFS|read-only file system|"level":50/i);
  });
});
