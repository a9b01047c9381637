// The benchmarks' input: event counts as written on the command line (100k, 1m, 10m) and the generated
// audit log of that many events (kubetrail's own generator, seed 42, one simulated day per million
// events), written once to bench/out and reused by later runs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { writeEventsFile } from '../src/generate/index.js';

/** `100k` → 100000, `1m` → 1000000, `2500` → 2500. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size ${s}: write a count such as 100k, 1m or 10m`);
  const unit = m[2]?.toLowerCase();
  return Math.round(Number(m[1]) * (unit === 'm' ? 1e6 : unit === 'k' ? 1e3 : 1));
}

/** Path of the generated file of `size` events in `out`, generating it first when absent. */
export async function eventsFile(out: string, size: number, log: (s: string) => void): Promise<string> {
  const file = path.join(out, `events-${size}.jsonl`);
  if (existsSync(file)) return file;
  log(`generating ${size.toLocaleString('en-US')} events → ${file}`);
  const t = performance.now();
  const g = await writeEventsFile(file, {
    seed: 42,
    start: Date.UTC(2026, 10, 1),
    durationMs: 86_400_000 * Math.max(1, Math.round(size / 1e6)),
    count: size,
  });
  log(
    `  ${g.events} events, ${(g.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t) / 1000).toFixed(1)}s`,
  );
  return file;
}
