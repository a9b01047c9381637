// Redaction markers: the text that replaces a secret value, optionally carrying a keyed hash (HMAC-SHA256)
// of the value so that "did this value change?" stays answerable without revealing it; and the checks that
// recognize markers and placeholders, so that redaction is idempotent and never flags its own output.
import { createHmac } from 'node:crypto';

export const MARKER = '[REDACTED]';
const MARKER_PREFIX = '[REDACTED';
const MARKER_RE = /^\[REDACTED(?::hmac=[0-9a-f]{16})?\]$/;

/** Makes markers: plain, or with a keyed hash when a key is given. */
export class Marker {
  private readonly key: Buffer | undefined;

  constructor(key?: Buffer) {
    this.key = key;
  }

  get hashed(): boolean {
    return this.key !== undefined;
  }

  of(value: string): string {
    if (!this.key) return MARKER;
    return `[REDACTED:hmac=${createHmac('sha256', this.key).update(value).digest('hex').slice(0, 16)}]`;
  }
}

/** Whether a whole value is a redaction marker. */
export function isMarker(value: string): boolean {
  return value.startsWith(MARKER_PREFIX) && MARKER_RE.test(value);
}

/** Whether text contains a redaction marker anywhere. */
export function containsMarker(text: string): boolean {
  return text.includes(MARKER_PREFIX);
}

// Values that name where a credential comes from instead of being one: `${DB_PASSWORD}`, `$(TOKEN)`,
// `{{ .Values.password }}`, `<your-token>`, `*****`, and booleans written as text.
const PLACEHOLDER = /^(?:\$\{[^}]*\}|\$\([^)]*\)|\{\{.*\}\}|<[^<>]*>|\*+|true|false|True|False|null)$/;

/** Whether a candidate secret is a marker or a placeholder, which are never redacted or reported. */
export function isPlaceholder(value: string): boolean {
  return isMarker(value) || PLACEHOLDER.test(value);
}
