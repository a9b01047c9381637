// The version of kubetrail recorded in a bundle's manifest: read from the package's own package.json
// (found from this file, in the source tree or the installed package), so it is never a second copy.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

export function toolVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const f = path.join(dir, 'package.json');
    if (existsSync(f)) {
      try {
        const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name?: unknown; version?: unknown };
        if (pkg.name === 'kubetrail' && typeof pkg.version === 'string') return (cached = pkg.version);
      } catch {
        // not ours: keep looking
      }
    }
    dir = path.dirname(dir);
  }
  return (cached = 'unknown');
}
