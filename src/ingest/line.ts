// Decodes one complete JSON line (as the API server's log backend writes them) into records, setting
// aside what is not an event with its file, line, column and reason. Used by the live file source.
import type { EventRecord } from '../core/event.js';
import { normalizeDocument } from './normalize.js';
import type { Quarantine } from './quarantine.js';
import { parseJsonText } from './json-text.js';

export interface LineContext {
  file: string;
  cluster: string;
  quarantine: Quarantine;
}

/** Appends the events of one line to `out`; returns how many records were set aside. */
export function decodeLine(textIn: string, line: number, ctx: LineContext, out: EventRecord[]): number {
  let text = textIn;
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return 0;
  let value: unknown;
  try {
    value = parseJsonText(text);
  } catch (err) {
    const message = (err as Error).message;
    const pos = /position (\d+)/.exec(message);
    ctx.quarantine.add({
      file: ctx.file,
      line,
      reason: `invalid JSON: ${message}`,
      raw: text,
      ...(pos ? { column: Number(pos[1]) + 1 } : {}),
    });
    return 1;
  }
  let bad = 0;
  for (const n of normalizeDocument(value)) {
    if ('event' in n) out.push({ cluster: ctx.cluster, event: n.event });
    else {
      bad++;
      ctx.quarantine.add({
        file: ctx.file,
        line,
        reason: n.path ? `${n.error} (at ${n.path})` : n.error,
        raw: text,
      });
    }
  }
  return bad;
}
