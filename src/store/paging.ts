// What both store back ends share for paging and writing: the opaque page cursor (the last row's time
// and content hash, so pages stay stable while events arrive) and the lock that serializes writes.
import { KubetrailError } from '../core/errors.js';

export function encodeCursor(t: number, hash: string): string {
  return Buffer.from(JSON.stringify([t, hash])).toString('base64url');
}

export function decodeCursor(cursor: string): { t: number; hash: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && Number.isSafeInteger(v[0]) && typeof v[1] === 'string')
      return { t: v[0] as number, hash: v[1] };
  } catch {
    // fall through to the error below
  }
  throw new KubetrailError('KT_USAGE', 'the cursor is not one this server issued', {
    where: { path: 'cursor' },
    hint: 'pass back the nextCursor of the previous page unchanged, or leave cursor out for the first page',
  });
}

/** Runs async sections one at a time, in call order; a failed section does not block the next. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
