// Positioned errors of the filter language: the message shows the filter with a caret under the place
// and, for unknown fields, the closest known name. A long filter is shown as a window around the place;
// control and bidi characters in it are shown as U+FFFD, one for one, so the caret stays under the place
// and a hostile filter cannot drive the terminal it is echoed to.
import { KubetrailError, type ErrorCode } from '../../core/errors.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Characters of the filter shown on each side of the place when the filter is too long to show whole. */
const CONTEXT = 60;

/** Builds an error at a 0-based offset of `input`; `where.column` is 1-based. */
export function queryError(
  code: ErrorCode,
  input: string,
  offset: number,
  message: string,
  hint?: string,
): KubetrailError {
  const col = Math.max(0, Math.min(offset, input.length));
  let shown = input.replace(/[\r\n\t]/g, ' ').replace(CONTROL, '\uFFFD');
  let caret = col;
  if (shown.length > 2 * CONTEXT + 1) {
    const from = Math.max(0, col - CONTEXT);
    const to = Math.min(shown.length, col + CONTEXT);
    const head = from > 0 ? '…' : '';
    shown = `${head}${shown.slice(from, to)}${to < shown.length ? '…' : ''}`;
    caret = col - from + head.length;
  }
  const text = `${message}\n  ${shown}\n  ${' '.repeat(caret)}^`;
  return new KubetrailError(code, text, {
    where: { column: col + 1 },
    ...(hint ? { hint } : {}),
  });
}
