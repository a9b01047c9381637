// Runs once before the test files: fails a CI run whose tests would skip for want of the shared corpus or
// a build, and otherwise says once which tests will be skipped and why.
import { BUILD, CORPUS, describeMissing, inCi, missing } from './requirements.js';

export default function setup(): void {
  const gone = missing([CORPUS, BUILD]);
  if (gone.length === 0) return;
  if (inCi()) throw new Error(describeMissing(gone, true));
  process.stderr.write(`kubetrail tests: ${describeMissing(gone, false)}\n`);
}
