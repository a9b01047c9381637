// DuckDB's memory limit comes from the configuration (pipeline.duckdbMemoryMB): the collector opens its
// store with it, and the default is the store's own (512 MB).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { startCollector } from '../server/collector.js';
import type { DuckDBStore } from '../store/duckdb/store.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function memoryLimitOf(pipeline: Record<string, unknown>): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kt-memory-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = configSchema.parse({ dataDir: dir, listen: '127.0.0.1:0', autodetect: false, pipeline });
  const c = await startCollector({ config, logger: pino({ level: 'silent' }) });
  cleanups.push(() => c.close());
  const reader = await (c.store as DuckDBStore).connection.runAndReadAll(
    "SELECT current_setting('memory_limit') AS m",
  );
  return String(reader.getRowObjects()[0]!.m);
}

describe('DuckDB memory limit', () => {
  it('is pipeline.duckdbMemoryMB', async () => {
    // DuckDB prints the limit in MiB: 300 MB = 286.1 MiB.
    expect(await memoryLimitOf({ duckdbMemoryMB: 300 })).toBe('286.1 MiB');
  });

  it('is 512 MB by default', async () => {
    expect(await memoryLimitOf({})).toBe('488.2 MiB');
  });
});
