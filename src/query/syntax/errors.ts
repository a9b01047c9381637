// Positioned errors of the filter language: the message shows the filter with a caret under the place
// and, for unknown fields, the closest known name.
import { KubetrailError, type ErrorCode } from '../../core/errors.js';

/** Builds an error at a 0-based offset of `input`; `where.column` is 1-based. */
export function queryError(
  code: ErrorCode,
  input: string,
  offset: number,
  message: string,
  hint?: string,
): KubetrailError {
  const col = Math.max(0, Math.min(offset, input.length));
  const shown = input.replace(/[\r\n\t]/g, ' ');
  const text = `${message}\n  ${shown}\n  ${' '.repeat(col)}^`;
  return new KubetrailError(code, text, {
    where: { column: col + 1 },
    ...(hint ? { hint } : {}),
  });
}
