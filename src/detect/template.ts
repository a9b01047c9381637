// Output templates of rules: `{field}` is replaced by the field's values in the triggering event (any
// filter field: catalog names, annotations.KEY, JSON paths), several values joined with commas. An absent
// value is left out with the separator that joins it to its neighbour (`{ns}/{name}` is `name` for a
// cluster-scoped object and nothing when both are absent), and the spaces and empty brackets it would
// leave are tidied, so an alert never reads `<none>/<none>`. Aggregations and first-seen rules add {count},
// {threshold}, {window}, {key} and {value}; silence rules {silence} and {since}. `{a|b}` shows the first of the fields that has a value (a pod's name is only in the
// response when the client used generateName). Values are shortened so a crafted event cannot flood an alert.
import type { EventRecord } from '../core/event.js';
import { fieldValues } from '../fields/values.js';

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_./~|-]*)\}/g;
const SPECIAL = new Set(['count', 'threshold', 'window', 'key', 'value', 'silence', 'since']);
const MAX_VALUE = 200;

/** Field names a template reads (specials excluded). */
export function templateFields(template: string): string[] {
  const out: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    for (const name of m[1]!.split('|')) if (!SPECIAL.has(name)) out.push(name);
  }
  return out;
}

function clip(s: string): string {
  const flat = s.replace(/[\r\n\t]+/g, ' ').replace(/\u0000/g, '\uFFFD');
  return flat.length > MAX_VALUE ? `${flat.slice(0, MAX_VALUE)}…` : flat;
}

/** Stands for an absent value while a message is built; never in a value (clip shows a NUL as U+FFFD). */
const ABSENT = '\u0000';

/**
 * Leaves the absent values out. Only the template's own text next to an absent value is touched (values
 * from the event are kept as they are): one `/` or `:` joining it to a neighbour, brackets left empty,
 * and the spaces around it (one space where there was any, none at an edge or next to a bracket).
 */
function leaveOutAbsent(text: string): string {
  return text
    .replace(/\u0000(?:\s*[/:]?\s*\u0000)+/g, ABSENT)
    .replace(/([/:])?\u0000([/:])?/g, (_, left?: string, right?: string) =>
      left && right ? `${ABSENT}${right}` : ABSENT,
    )
    .replace(/\(\s*\u0000\s*\)|\[\s*\u0000\s*\]/g, ABSENT)
    .replace(/\s*\u0000\s*/g, (m: string, at: number, whole: string) => {
      const between = at > 0 && at + m.length < whole.length;
      const inside = /[([]$/.test(whole.slice(0, at)) || /^[)\]]/.test(whole.slice(at + m.length));
      return between && !inside && /\s/.test(m) ? ' ' : '';
    });
}

/** Renders a template against an event and the special values. */
export function renderTemplate(
  template: string,
  r: EventRecord,
  special: Partial<
    Record<'count' | 'threshold' | 'window' | 'key' | 'value' | 'silence' | 'since', string | number>
  > = {},
): string {
  const text = template.replace(PLACEHOLDER, (_, names: string) => {
    for (const name of names.split('|')) {
      if (SPECIAL.has(name)) {
        const v = special[name as keyof typeof special];
        if (v !== undefined) return clip(String(v));
        continue;
      }
      const values = fieldValues(r, name);
      if (values.length > 0) return clip([...new Set(values.map(String))].join(','));
    }
    return ABSENT;
  });
  return text.includes(ABSENT) ? leaveOutAbsent(text) : text;
}

/** The values of some fields joined into one key ("" for absent fields). */
export function keyOf(r: EventRecord, fields: readonly string[]): string {
  if (fields.length === 0) return '';
  return fields.map((f) => [...new Set(fieldValues(r, f).map(String))].join(',')).join('|');
}
