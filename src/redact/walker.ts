// The event walker: visits every place of one audit event that can hold a secret (request and response
// bodies, the request URI, the user agent, the response status, annotations, the users' extra fields) and
// walks any JSON generically: objects with a rule of their own go to the per-kind rules (kinds.ts), keys
// with sensitive names and `{name, value}` pairs are redacted by name, arrays are read as command lines
// (`--password=x`, `--token x`), strings go to the text scanner (text.ts), and subtrees deeper than any
// Kubernetes object are replaced whole.
import { REDACTED_ANNOTATION, type AuditEvent } from '../core/event.js';
import { body, byKind, contextFromUri, patchOp, type BodyContext } from './kinds.js';
import { MARKER } from './marker.js';
import { TextScanner } from './text.js';
import {
  allowed,
  found,
  isObj,
  MAX_DEPTH,
  replace,
  RULES,
  type Obj,
  type RedactOptions,
  type Walk,
  type Walker,
} from './walk.js';

const FLAG = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=([\s\S]*))?$/;
const MARKER_TEXT = MARKER;
const TOO_DEEP_KEY = 'kubetrail.io/too-deep';
const PEOPLE = ['user', 'impersonatedUser'] as const;
const EXTRA_KEPT: ReadonlySet<string> = new Set(['accessKeyId']);

export class EventWalker implements Walker {
  readonly options: RedactOptions;
  private readonly scanner: TextScanner;

  constructor(options: RedactOptions) {
    this.options = options;
    this.scanner = new TextScanner(options);
  }

  /** Free text, through the text scanner. */
  text(s: string, w: Walk): string {
    return this.scanner.text(s, w, this);
  }

  /** Every place of the event that can hold a secret. */
  event(e: AuditEvent, w: Walk): void {
    const ref = e.objectRef;
    const ctx: BodyContext = ref
      ? {
          resource: ref.resource,
          subresource: ref.subresource || undefined,
          group: ref.apiGroup || undefined,
        }
      : contextFromUri(e.requestURI);
    if (e.requestObject !== undefined && e.requestObject !== null) {
      w.path.push('requestObject');
      e.requestObject = body(this, e.requestObject, ctx, w);
      w.path.pop();
    }
    if (e.responseObject !== undefined && e.responseObject !== null) {
      w.path.push('responseObject');
      e.responseObject = body(this, e.responseObject, ctx, w);
      w.path.pop();
    }
    if (typeof e.requestURI === 'string' && e.requestURI.includes('?')) {
      w.path.push('requestURI');
      const uri = this.scanner.uri(e.requestURI, w, this);
      if (w.mutate) e.requestURI = uri;
      w.path.pop();
    }
    if (typeof e.userAgent === 'string') {
      w.path.push('userAgent');
      const ua = this.text(e.userAgent, w);
      if (w.mutate) e.userAgent = ua;
      w.path.pop();
    }
    const status = e.responseStatus;
    if (status) {
      w.path.push('responseStatus');
      if (typeof status.message === 'string') {
        w.path.push('message');
        const m = this.text(status.message, w);
        if (w.mutate) status.message = m;
        w.path.pop();
      }
      if (isObj(status.details)) {
        w.path.push('details');
        this.object(status.details, w);
        w.path.pop();
      }
      w.path.pop();
    }
    const annotations = e.annotations;
    if (annotations) {
      w.path.push('annotations');
      for (const key of Object.keys(annotations)) {
        if (key === REDACTED_ANNOTATION) continue;
        const v = annotations[key];
        if (typeof v !== 'string') continue;
        w.path.push(key);
        const t = this.text(v, w);
        if (w.mutate) annotations[key] = t;
        w.path.pop();
      }
      w.path.pop();
    }
    for (const who of PEOPLE) {
      const extra = e[who]?.extra;
      if (!isObj(extra)) continue;
      w.path.push(who, 'extra');
      // EKS records the caller's AWS access key id here: it names the session and is not secret.
      this.object(extra, w, EXTRA_KEPT);
      w.path.pop();
      w.path.pop();
    }
  }

  // --- generic walk

  value(v: unknown, w: Walk): unknown {
    if (typeof v === 'string') return this.text(v, w);
    if (Array.isArray(v)) this.array(v, w);
    else if (isObj(v)) this.object(v, w);
    return v;
  }

  /** Objects: typed handling by `kind`, then names and values of every key. */
  object(o: Obj, w: Walk, skip?: ReadonlySet<string>): void {
    if (w.path.length > MAX_DEPTH) {
      this.tooDeep(o, w);
      return;
    }
    if (skip === undefined && typeof o.kind === 'string' && byKind(this, o, o.kind, w)) return;
    if (skip === undefined && typeof o.op === 'string' && typeof o.path === 'string' && 'value' in o) {
      // A JSON-patch operation found inside other data (an admission webhook's patch annotation).
      patchOp(this, o, false, w);
      return;
    }
    const names = this.options.names;
    // `{name: DB_PASSWORD, value: …}`: env vars and other name/value pairs.
    const pairName = typeof o.name === 'string' && o.value !== undefined && names.isSensitive(o.name);
    for (const key of Object.keys(o)) {
      if (skip?.has(key)) continue;
      const v = o[key];
      if (v === null || v === undefined) continue;
      const t = typeof v;
      if (t === 'string') {
        const s = v as string;
        if (s === '') continue;
        w.path.push(key);
        if ((pairName && key === 'value') || names.isSensitive(key)) {
          replace(this.options, o, key, s, RULES.sensitiveName, w);
        } else {
          const r = this.text(s, w);
          if (w.mutate && r !== s) o[key] = r;
        }
        w.path.pop();
      } else if (t === 'number' || t === 'bigint') {
        if ((pairName && key === 'value') || names.isSensitive(key)) {
          w.path.push(key);
          replace(this.options, o, key, String(v), RULES.sensitiveName, w);
          w.path.pop();
        }
      } else if (t === 'object') {
        w.path.push(key);
        if (Array.isArray(v)) this.array(v, w);
        else this.object(v as Obj, w);
        w.path.pop();
      }
    }
  }

  /** Arrays: elements, with command-line flags (`--password=x`, `--token x`) looked at in sequence. */
  array(a: unknown[], w: Walk): void {
    if (w.path.length > MAX_DEPTH) {
      this.tooDeep(a, w);
      return;
    }
    const flags = this.options.flags;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (v === null || v === undefined) continue;
      w.path.push(i);
      if (typeof v === 'string') {
        if (flags && v.charCodeAt(0) === 45 /* - */) {
          if (this.flag(a, i, w)) {
            // `--token VALUE`: the value is the next element.
            w.path[w.path.length - 1] = i + 1;
            replace(this.options, a, i + 1, a[i + 1] as string, RULES.sensitiveFlag, w);
            i++;
          }
        } else {
          const r = this.text(v, w);
          if (w.mutate && r !== v) a[i] = r;
        }
      } else if (Array.isArray(v)) this.array(v, w);
      else if (isObj(v)) this.object(v, w);
      w.path.pop();
    }
  }

  /**
   * A string starting with `-` at a[i]. `--name=value` with a sensitive name has its value redacted here;
   * other strings go through the text rules. Returns true for a sensitive `--name` whose value is the next
   * element, which the caller redacts.
   */
  private flag(a: unknown[], i: number, w: Walk): boolean {
    const s = a[i] as string;
    const m = FLAG.exec(s);
    if (!m || !this.options.names.isSensitive(m[1]!)) {
      const r = this.text(s, w);
      if (w.mutate && r !== s) a[i] = r;
      return false;
    }
    const inline = m[2];
    if (inline !== undefined) {
      if (inline !== '' && !allowed(this.options, inline)) {
        found(RULES.sensitiveFlag, w);
        if (w.mutate) a[i] = `${s.slice(0, s.length - inline.length)}${this.options.marker.of(inline)}`;
      }
      return false;
    }
    const next = a[i + 1];
    return typeof next === 'string' && next !== '' && next.charCodeAt(0) !== 45;
  }

  /** A subtree nested deeper than any Kubernetes object cannot be checked: its content is replaced whole. */
  private tooDeep(container: Obj | unknown[], w: Walk): void {
    if (Array.isArray(container) ? container.length === 0 : Object.keys(container).length === 0) return;
    if (Array.isArray(container) && container.length === 1 && container[0] === MARKER_TEXT) return;
    if (
      !Array.isArray(container) &&
      Object.keys(container).length === 1 &&
      container[TOO_DEEP_KEY] === MARKER_TEXT
    )
      return;
    found(RULES.tooDeep, w);
    if (!w.mutate) return;
    if (Array.isArray(container)) container.splice(0, container.length, MARKER_TEXT);
    else {
      for (const k of Object.keys(container)) delete container[k];
      container[TOO_DEEP_KEY] = MARKER_TEXT;
    }
  }
}
