// Rewriting a closed DuckDB store into a fresh file. DuckDB leaves the bytes of deleted and updated rows
// in the file's free blocks until it reuses them, so after `kubetrail key rotate` the plain (or old-key)
// rows it replaced could still be read from the file with a hex editor. Copying every table into a new
// file (DuckDB's COPY FROM DATABASE) and renaming it over the old one leaves none of them behind.
//
// Crash-safe: the copy is written beside the store as FILE.rewrite and renamed over FILE only once it is
// complete and on disk; a crash before the rename leaves the store as it was (and a stale copy, removed
// by the next run).
import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';

/** SQL text of a file path: a string literal, quotes doubled (DuckDB's ATTACH takes no parameters). */
export function pathLiteral(file: string): string {
  if (file.includes('\0')) throw new KubetrailError('KT_USAGE', 'a file path holds a NUL character');
  return `'${file.replaceAll("'", "''")}'`;
}

/** Rewrites the closed store FILE into a fresh file; false when there is no such file. */
export async function rewriteDuckDBFile(file: string): Promise<boolean> {
  const abs = path.resolve(file);
  if (!existsSync(abs)) return false;
  const fresh = `${abs}.rewrite`;
  for (const f of [fresh, `${fresh}.wal`]) rmSync(f, { force: true });
  const instance = await DuckDBInstance.create(':memory:', { memory_limit: '256MB' });
  const conn = await instance.connect();
  try {
    await conn.run(`ATTACH ${pathLiteral(abs)} AS src (READ_ONLY)`);
    await conn.run(`ATTACH ${pathLiteral(fresh)} AS dst`);
    await conn.run('COPY FROM DATABASE src TO dst');
    await conn.run('DETACH dst');
    await conn.run('DETACH src');
  } catch (err) {
    rmSync(fresh, { force: true });
    throw new KubetrailError('KT_STORE_WRITE', `rewriting ${abs} into a fresh file failed: ${String(err)}`, {
      where: { file: abs },
      cause: err,
    });
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
  chmodSync(fresh, statSync(abs).mode & 0o777);
  const fd = openSync(fresh, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(fresh, abs);
  rmSync(`${fresh}.wal`, { force: true });
  const dir = openSync(path.dirname(abs), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return true;
}
