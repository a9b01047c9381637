// Redaction throughput, run on demand (KUBETRAIL_BENCH=1 npx vitest run src/redact/bench.test.ts): the
// transform alone on the demo data set (events/s), and imports of the same generated log into DuckDB with and
// without redaction, for the share of import time redaction costs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { demoEvents, writeEventsFile } from '../generate/index.js';
import { runImport } from '../pipeline/import.js';
import { createMemoryQuarantine, readEvents } from '../ingest/index.js';
import { openStore } from '../store/open.js';
import { redactTransform } from './transform.js';

const enabled = process.env.KUBETRAIL_BENCH === '1';

describe.skipIf(!enabled)('redaction throughput (KUBETRAIL_BENCH=1)', () => {
  it('the transform alone, on the demo data set', () => {
    const lines: string[] = [];
    for (const e of demoEvents()) lines.push(JSON.stringify(e));
    const rates: number[] = [];
    let redacted = 0;
    for (let round = 0; round < 5; round++) {
      const events = lines.map((l) => JSON.parse(l) as AuditEvent);
      const t = redactTransform();
      const start = performance.now();
      for (let i = 0; i < events.length; i += 1000)
        t.apply(events.slice(i, i + 1000).map((event) => ({ cluster: 'demo', event })));
      rates.push(events.length / ((performance.now() - start) / 1000));
      redacted = t.stats.redacted;
    }
    const best = Math.max(...rates);
    const median = [...rates].sort((a, b) => a - b)[2]!;
    console.log(
      `redact transform: ${lines.length} demo events, ${redacted} redacted; median ${Math.round(median)} events/s, best ${Math.round(best)} events/s`,
    );
    expect(best).toBeGreaterThan(0);
  }, 600_000);

  it('import with and without redaction', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-redact-bench-'));
    try {
      const file = path.join(dir, 'events.jsonl');
      const count = Number(process.env.KUBETRAIL_BENCH_EVENTS ?? 100_000);
      await writeEventsFile(file, { seed: 42, start: Date.UTC(2026, 10, 1), durationMs: 86_400_000, count });
      const once = async (redact: boolean, i: number) => {
        const db = path.join(dir, `db-${i}.duckdb`);
        const store = await openStore(db);
        const start = performance.now();
        const s = await runImport({
          source: readEvents([file], { quarantine: createMemoryQuarantine() }),
          store,
          transforms: redact ? [redactTransform()] : [],
        });
        const seconds = (performance.now() - start) / 1000;
        await store.close();
        return { rate: s.read / seconds, seconds };
      };
      const runs: { redact: boolean; rate: number; seconds: number }[] = [];
      for (let i = 0; i < 4; i++) {
        const redact = i % 2 === 1;
        runs.push({ redact, ...(await once(redact, i)) });
      }
      const best = (r: boolean) => Math.max(...runs.filter((x) => x.redact === r).map((x) => x.rate));
      const plain = best(false);
      const red = best(true);
      console.log(
        `import of ${count} events: without redaction ${Math.round(plain)} events/s, with ${Math.round(red)} events/s: redaction costs ${(((plain - red) / plain) * 100).toFixed(1)}% of import throughput`,
      );
      expect(red).toBeGreaterThan(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 900_000);
});
