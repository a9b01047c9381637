// Whether a filter value suits its field: numbers, durations and times must read as such, wildcards and
// comparisons only where they mean something, and an address range on \`ip\` gets the wildcard that
// matches it. The parser places each problem at the value (or at the term, for a wrong operator) and
// fails with KT_QUERY_VALUE. Browser-safe.
import type { ResolvedField } from '../../fields/catalog.js';
import type { CompareOp, ValueLiteral } from './ast.js';
import { durationValue, numberValue, timeValue } from './literals.js';

export interface ValueProblem {
  message: string;
  hint?: string;
  /** The problem is the operator on this field: placed at the start of the term, not at the value. */
  atTerm?: boolean;
}

/** The problem with \`name:value\` (and with the value of a comparison), or undefined when it is fine. */
export function matchValueProblem(
  field: ResolvedField,
  name: string,
  value: ValueLiteral,
): ValueProblem | undefined {
  if (field.kind !== 'column') return undefined;
  const t = field.field.type;
  // \`ip:10.0.0.0/8\` would compare the text and match nothing: say what matches a range instead.
  if (field.field.name === 'ip' && !value.quoted && /^[0-9a-fA-F.:]+\/\d{1,3}$/.test(value.text)) {
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(8|16|24)$/.exec(value.text);
    const octets = v4 ? Number(v4[5]) / 8 : 0;
    const suggestion = v4 ? `${name}:${v4.slice(1, 1 + octets).join('.')}.*` : undefined;
    return {
      message: `${name} compares addresses as text and has no CIDR ranges${suggestion ? `: write \`${suggestion}\`` : ''}`,
      hint: suggestion
        ? `\`${suggestion}\` matches the same addresses as ${value.text}`
        : 'match a prefix with a wildcard, e.g. ip:10.1.* or ip:2001:db8:*; quote the value to search the text as written',
    };
  }
  if (value.wildcard) {
    return t === 'time' || t === 'duration'
      ? { message: `wildcards do not apply to ${name}; use a range such as ${name}>=… ${name}<…` }
      : undefined;
  }
  if (t === 'number' && numberValue(value.text) === undefined) {
    return { message: `${name} takes a number, not ${JSON.stringify(value.text)}` };
  }
  if (t === 'duration' && durationValue(value.text) === undefined) {
    return { message: `${name} takes a duration such as 250ms or 2s, not ${JSON.stringify(value.text)}` };
  }
  if (t === 'time' && timeValue(value.text, Date.now()) === undefined) {
    return {
      message: `${name} takes a time such as 2024-05-01, 2024-05-01T10:00:00Z or now-1h, not ${JSON.stringify(value.text)}`,
    };
  }
  return undefined;
}

/** The problem with \`name OP value\`, or undefined when it is fine. */
export function compareValueProblem(
  field: ResolvedField,
  name: string,
  op: CompareOp,
  value: ValueLiteral,
): ValueProblem | undefined {
  if (value.wildcard) return { message: `wildcards cannot be compared with ${op}` };
  if (field.kind === 'annotation')
    return { message: `${op} works on numbers, durations and times; annotations are text`, atTerm: true };
  if (field.kind === 'json')
    return numberValue(value.text) === undefined ? { message: `${name}${op} takes a number` } : undefined;
  if (field.field.type === 'string')
    return { message: `${op} works on numbers, durations and times; ${name} is text`, atTerm: true };
  return matchValueProblem(field, name, value);
}
