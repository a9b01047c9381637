// `import --forward` and `serve --forward` on the command line: an import is forwarded and waits for
// delivery; with the destination down it ends with KT_FORWARD_DELIVERY (exit 3) after --forward-wait and
// keeps the events queued, and the next import with the same forwarder delivers them; a bad spec is a
// usage error (exit 2) before anything starts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveServeConfig } from '../cli/commands/serve.js';
import { runCli } from '../test-support/cli.js';
import { makeEvent } from '../test-support/events.js';
import { FakeDestination } from '../test-support/forward-fakes.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function auditLog(dir: string, n: number, tag: string): string {
  const file = path.join(dir, `${tag}.log`);
  writeFileSync(
    file,
    Array.from({ length: n }, (_, i) => JSON.stringify(makeEvent({ auditID: `${tag}-${i}` }))).join('\n'),
  );
  return file;
}

describe('import --forward', () => {
  it('forwards what it imports, waits for delivery, and keeps what it could not deliver for the next run', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-fwd-cli-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const dest = await FakeDestination.start('http');
    cleanup.push(() => dest.stop());
    const db = path.join(dir, 'kt.duckdb');
    const spec = `http:${dest.url}/ingest`;

    const ok = await runCli(['import', auditLog(dir, 120, 'a'), '--db', db, '--forward', spec]);
    expect(ok.code).toBe(0);
    expect(dest.ids().size).toBe(120);
    expect(ok.err).toMatch(/forwarded {4}http-[0-9a-f]{8}: 120 sent/);

    dest.down = true;
    const down = await runCli([
      'import',
      auditLog(dir, 30, 'b'),
      '--db',
      db,
      '--forward',
      spec,
      '--forward-wait',
      '1s',
    ]);
    expect(down.code).toBe(3);
    expect(down.err).toMatch(/KT_FORWARD_DELIVERY: http-[0-9a-f]{8} made no progress for 1s/);
    expect(down.err).toMatch(/30 still queued/);

    dest.down = false;
    const again = await runCli(['import', auditLog(dir, 5, 'c'), '--db', db, '--forward', spec]);
    expect(again.code).toBe(0);
    for (let i = 0; i < 30; i++) expect(dest.ids().has(`b-${i}`)).toBe(true);
    expect(dest.ids().has('c-4')).toBe(true);
  });

  it('refuses a bad spec or wait with a usage error before reading anything', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kt-fwd-cli-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const log = auditLog(dir, 1, 'x');
    const bad = await runCli(['import', log, '--db', path.join(dir, 'kt.duckdb'), '--forward', 'kafka:x']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/KT_FORWARD_CONFIG: --forward: "kafka" is not a forwarder destination/);
    const wait = await runCli([
      'import',
      log,
      '--db',
      path.join(dir, 'kt.duckdb'),
      '--forward',
      'file:o',
      '--forward-wait',
      'soon',
    ]);
    expect(wait.code).toBe(2);
    expect(wait.err).toMatch(/--forward-wait takes a duration/);
  });
});

describe('serve --forward', () => {
  it('adds forwarders to those of the configuration, and checks each spec at once', () => {
    const config = resolveServeConfig(
      { tail: [], forward: ['loki:http://loki:3100', 'syslog:tls://siem:6514'] },
      {},
    );
    expect(config.forward.map((f) => f.spec)).toEqual(['loki:http://loki:3100', 'syslog:tls://siem:6514']);
    expect(config.forward[0]).toMatchObject({
      whenFull: 'block',
      batchEvents: 500,
      queueBytes: 256 * 1024 * 1024,
    });
    expect(() => resolveServeConfig({ tail: [], forward: ['syslog:udp://h:514'] }, {})).toThrow(
      /tcp:\/\/HOST:PORT/,
    );
  });
});
