// What some tests need beyond the repository: the shared corpus of real audit events beside the clone
// (`../shared/corpus`) and a build of the CLI (`dist/`, made by `npm test` before the tests run). In CI
// (`CI` set) a missing one fails the run, so tests cannot pass by skipping; in a developer's clone the
// tests that need it are skipped and the run says once why (src/test-support/global-setup.ts).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface Requirement {
  name: string;
  /** Where it is looked for. */
  path: string;
  /** How to get it. */
  fix: string;
}

export const CORPUS: Requirement = {
  name: 'the shared corpus',
  path: path.resolve(repoRoot, '../shared/corpus'),
  fix: 'clone kubetrail next to its shared/ folder so that ../shared/corpus exists',
};

export const BUILD: Requirement = {
  name: 'the built CLI',
  path: path.join(repoRoot, 'dist/src/cli/main.js'),
  fix: 'run `npm run build` (npm test does it first)',
};

/** True when CI runs the tests (GitHub Actions, GitLab and most others set CI=true). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').toLowerCase();
  return v !== '' && v !== '0' && v !== 'false';
}

/** The requirements that are missing. */
export function missing(reqs: readonly Requirement[] = [CORPUS, BUILD]): Requirement[] {
  return reqs.filter((r) => !existsSync(r.path));
}

/**
 * Whether the tests needing these requirements can run. In CI a missing requirement throws, which fails
 * the test file that asked, instead of letting its tests skip.
 */
export function available(...reqs: Requirement[]): boolean {
  const gone = missing(reqs);
  if (gone.length === 0) return true;
  if (inCi()) throw new Error(describeMissing(gone, true));
  return false;
}

/** The shared corpus folder, or undefined when it is absent outside CI (throws in CI). */
export function corpusPath(): string | undefined {
  return available(CORPUS) ? CORPUS.path : undefined;
}

export function describeMissing(gone: readonly Requirement[], ci: boolean): string {
  const list = gone.map((r) => `${r.name} (${r.path}): ${r.fix}`).join('; ');
  return ci
    ? `CI must run every test, but ${list}`
    : `some tests are skipped because ${gone.length === 1 ? 'this is' : 'these are'} missing: ${list}`;
}
