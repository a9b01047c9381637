// The redactor: walks one audit event and replaces every secret value by a marker, or (inspect mode) only
// reports where secrets are. Structural rules know where Kubernetes keeps credentials (Secret data and
// stringData, lists and patches of Secrets, last-applied-configuration annotations, TokenRequest and
// TokenReview tokens, private keys in CertificateSigningRequests); name rules catch values stored under
// sensitive names (keys, env vars, flags, query parameters, JSON-patch paths); value detectors catch the
// known shapes of credentials anywhere in text. Optional pseudonymization of users, e-mails and source IPs
// runs last. Events are changed in place; a changed event gets the `kubetrail.io/redacted` annotation.
import { REDACTED_ANNOTATION, type AuditEvent } from '../core/event.js';
import {
  ASSIGNMENT_RULE,
  findAssignments,
  findPatterns,
  hintOf,
  type Detector,
  type Hit,
} from './detectors.js';
import { isMarker, isPlaceholder, MARKER, type Marker } from './marker.js';
import type { NameClassifier } from './names.js';
import { EMBEDDED, formatPath, summarizePaths, type PathStep } from './paths.js';
import type { Pseudonymizer } from './pseudonymize.js';

export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** Rule ids of the structural and name rules (detector ids come from detectors.ts and the config). */
export const RULES = {
  secretData: 'secret-data',
  secretStringData: 'secret-stringdata',
  secretBody: 'secret-body',
  tokenRequest: 'token-request',
  tokenReview: 'token-review',
  csrPrivateKey: 'csr-private-key',
  sensitiveName: 'sensitive-name',
  sensitiveFlag: 'sensitive-flag',
  sensitiveAssignment: ASSIGNMENT_RULE,
  pseudonym: 'pseudonym',
  tooDeep: 'too-deep',
} as const;

/** Compiled redaction settings (see config.ts for the file format and its defaults). */
export interface RedactOptions {
  detectors: readonly Detector[];
  names: NameClassifier;
  /** Candidate secrets matching one of these are kept. */
  allowValues: readonly RegExp[];
  /** Whether `name=value` text assignments and command-line flags are looked at. */
  assignments: boolean;
  flags: boolean;
  marker: Marker;
  pseudonymizer?: Pseudonymizer;
}

/** Where a secret was found, and which rule found it. Never carries the value. */
export interface Finding {
  path: string;
  rule: string;
}

/**
 * Every kind, resource and subresource the structural rules act on (Secret, SecretList, secrets,
 * TokenRequest, serviceaccounts/token, TokenReview, tokenreviews, CertificateSigningRequest,
 * certificatesigningrequests) holds one of these words once lower-cased; the pre-check (precheck.ts) walks
 * every event whose text holds one. A new structural rule must name its word here.
 */
export const STRUCTURAL_WORDS: readonly string[] = ['secret', 'token', 'certificatesigningrequest'];

/** Deeper than any real Kubernetes object (CRD schemas included); also bounds the walk's recursion. */
export const MAX_DEPTH = 128;

type Obj = Record<string, unknown>;

interface Walk {
  mutate: boolean;
  path: PathStep[];
  findings: Finding[];
}

interface BodyContext {
  resource: string | undefined;
  subresource: string | undefined;
  group: string | undefined;
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const FLAG = /^--?([A-Za-z][A-Za-z0-9_.-]*)(?:=([\s\S]*))?$/;
const MIN_TEXT = 5;
const MARKER_TEXT = MARKER;
const TOO_DEEP_KEY = 'kubetrail.io/too-deep';
const CLEAN_CACHE_SIZE = 20_000;
const CLEAN_CACHE_MAX_LENGTH = 512;

function pointerSegments(p: unknown): string[] | undefined {
  if (typeof p !== 'string') return undefined;
  if (p === '' || p === '/') return [];
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export class Redactor {
  readonly options: RedactOptions;
  private readonly builtinHinted: readonly Detector[];
  /** Strings that may hold a built-in detector's match (the union of their hints); others skip them. */
  private readonly builtinHint: RegExp;
  private readonly alwaysRun: readonly Detector[];
  private readonly clean = new Set<string>();

  constructor(options: RedactOptions) {
    this.options = options;
    this.builtinHinted = options.detectors.filter((d) => d.builtin === true);
    this.builtinHint = hintOf(this.builtinHinted);
    this.alwaysRun = options.detectors.filter((d) => d.builtin !== true);
  }

  /** Redacts the event in place; returns what was redacted (paths and rules, never values). */
  redact(event: AuditEvent): Finding[] {
    const w: Walk = { mutate: true, path: [], findings: [] };
    this.event(event, w);
    const pz = this.options.pseudonymizer;
    if (pz) this.pseudonymize(event, pz, w);
    if (w.findings.length > 0) {
      const previous = event.annotations?.[REDACTED_ANNOTATION];
      let listed: string[] = [];
      if (previous) {
        try {
          const p = JSON.parse(previous) as unknown;
          if (Array.isArray(p)) listed = p.filter((x): x is string => typeof x === 'string');
        } catch {
          listed = [];
        }
      }
      event.annotations = {
        ...event.annotations,
        [REDACTED_ANNOTATION]: JSON.stringify(summarizePaths([...listed, ...w.findings.map((f) => f.path)])),
      };
    }
    return w.findings;
  }

  /** Reports where secrets are, without changing the event (each path and rule once). */
  inspect(event: AuditEvent): Finding[] {
    const w: Walk = { mutate: false, path: [], findings: [] };
    this.event(event, w);
    const seen = new Set<string>();
    return w.findings.filter((f) => {
      const k = `${f.rule}\u0000${f.path}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  /**
   * Redacts a raw record that is not a valid event (for the quarantine): JSON is redacted as an event and
   * walked whole; unreadable text goes through the text rules, and values of any `data`/`stringData`
   * object in it are dropped.
   */
  redactRaw(raw: string): string {
    const w: Walk = { mutate: true, path: [], findings: [] };
    const parsed = parseJson(raw);
    if (isObj(parsed)) {
      this.event(parsed as unknown as AuditEvent, w);
      // Then the whole record, as any JSON (the event fields again: already redacted parts are skipped).
      this.object(parsed, w);
      // Unchanged records keep their text as it was (it shows why they were set aside).
      return w.findings.length > 0 ? JSON.stringify(parsed) : raw;
    }
    if (Array.isArray(parsed)) {
      this.array(parsed, w);
      return w.findings.length > 0 ? JSON.stringify(parsed) : raw;
    }
    const dropped = raw.replace(DATA_BLOCK, (block: string) =>
      block.replace(DATA_ENTRY, (_m, k: string, v: string) => `"${k}":"${this.options.marker.of(v)}"`),
    );
    return this.text(dropped, w);
  }

  // --- the event

  private event(e: AuditEvent, w: Walk): void {
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
      e.requestObject = this.body(e.requestObject, ctx, w);
      w.path.pop();
    }
    if (e.responseObject !== undefined && e.responseObject !== null) {
      w.path.push('responseObject');
      e.responseObject = this.body(e.responseObject, ctx, w);
      w.path.pop();
    }
    if (typeof e.requestURI === 'string' && e.requestURI.includes('?')) {
      w.path.push('requestURI');
      const uri = this.uri(e.requestURI, w);
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

  private body(v: unknown, ctx: BodyContext, w: Walk): unknown {
    const secrets = ctx.resource === 'secrets' && !ctx.group && !ctx.subresource;
    if (secrets) {
      if (typeof v === 'string') return this.secretScalar(v, RULES.secretBody, w);
      if (Array.isArray(v)) {
        this.jsonPatch(v, true, w);
        return v;
      }
      if (isObj(v)) {
        if (v.kind === undefined || v.kind === 'Secret') {
          if (Array.isArray(v.items)) this.list(v, (item) => this.secret(item, w), w);
          else this.secret(v, w);
        } else this.object(v, w);
      }
      return v;
    }
    if (isObj(v) && v.kind === undefined) {
      // Kind-less bodies (patches, some clients): the resource says what they are.
      if (ctx.resource === 'tokenreviews' && ctx.group === 'authentication.k8s.io') this.tokenReview(v, w);
      else if (ctx.resource === 'serviceaccounts' && ctx.subresource === 'token') this.tokenRequest(v, w);
      else if (ctx.resource === 'certificatesigningrequests' && ctx.group === 'certificates.k8s.io')
        this.csr(v, w);
      else this.object(v, w);
      return v;
    }
    if (Array.isArray(v) && v.length > 0 && v.every((op) => isObj(op) && typeof op.op === 'string')) {
      this.jsonPatch(v, false, w);
      return v;
    }
    return this.value(v, w);
  }

  // --- generic walk

  private value(v: unknown, w: Walk): unknown {
    if (typeof v === 'string') return this.text(v, w);
    if (Array.isArray(v)) this.array(v, w);
    else if (isObj(v)) this.object(v, w);
    return v;
  }

  /** Objects: typed handling by `kind`, then names and values of every key. */
  private object(o: Obj, w: Walk, skip?: ReadonlySet<string>): void {
    if (w.path.length > MAX_DEPTH) {
      this.tooDeep(o, w);
      return;
    }
    if (skip === undefined && typeof o.kind === 'string') {
      switch (o.kind) {
        case 'Secret':
          return this.secret(o, w);
        case 'SecretList':
          return this.list(o, (item) => this.secret(item, w), w);
        case 'TokenRequest':
          return this.tokenRequest(o, w);
        case 'TokenReview':
          return this.tokenReview(o, w);
        case 'CertificateSigningRequest':
          return this.csr(o, w);
      }
    }
    if (skip === undefined && typeof o.op === 'string' && typeof o.path === 'string' && 'value' in o) {
      // A JSON-patch operation found inside other data (an admission webhook's patch annotation).
      this.patchOp(o, false, w);
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
          this.replace(o, key, s, RULES.sensitiveName, w);
        } else {
          const r = this.text(s, w);
          if (w.mutate && r !== s) o[key] = r;
        }
        w.path.pop();
      } else if (t === 'number' || t === 'bigint') {
        if ((pairName && key === 'value') || names.isSensitive(key)) {
          w.path.push(key);
          this.replace(o, key, String(v), RULES.sensitiveName, w);
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
  private array(a: unknown[], w: Walk): void {
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
            this.replace(a, i + 1, a[i + 1] as string, RULES.sensitiveFlag, w);
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
      if (inline !== '' && !this.allowed(inline)) {
        this.found(RULES.sensitiveFlag, w);
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
    this.found(RULES.tooDeep, w);
    if (!w.mutate) return;
    if (Array.isArray(container)) container.splice(0, container.length, MARKER_TEXT);
    else {
      for (const k of Object.keys(container)) delete container[k];
      container[TOO_DEEP_KEY] = MARKER_TEXT;
    }
  }

  // --- typed objects

  /** A Secret (with or without kind): every value of data and stringData; last-applied is parsed or dropped. */
  private secret(s: unknown, w: Walk): void {
    if (!isObj(s)) {
      if (typeof s === 'string') this.secretScalar(s, RULES.secretBody, w);
      return;
    }
    for (const [field, rule] of [
      ['data', RULES.secretData],
      ['stringData', RULES.secretStringData],
    ] as const) {
      const d = s[field];
      if (d === undefined || d === null) continue;
      w.path.push(field);
      if (isObj(d)) {
        for (const k of Object.keys(d)) {
          const v = d[k];
          if (v === null || v === undefined || v === '') continue;
          if (typeof v === 'string' && isMarker(v)) continue;
          w.path.push(k);
          this.found(rule, w);
          if (w.mutate) d[k] = this.options.marker.of(asText(v));
          w.path.pop();
        }
      } else if (!(typeof d === 'string' && isMarker(d))) {
        this.found(rule, w);
        if (w.mutate) s[field] = this.options.marker.of(asText(d));
      }
      w.path.pop();
    }
    const meta = s.metadata;
    if (isObj(meta)) {
      const ann = meta.annotations;
      if (isObj(ann) && typeof ann[LAST_APPLIED] === 'string' && !isMarker(ann[LAST_APPLIED])) {
        // A Secret's last-applied configuration is this Secret again (whatever its text says its kind is);
        // when it cannot be read, it still holds the values: it is dropped whole.
        const text = ann[LAST_APPLIED];
        const parsed = parseJson(text);
        w.path.push('metadata', 'annotations', LAST_APPLIED);
        if (isObj(parsed)) {
          const before = w.findings.length;
          w.path.push(EMBEDDED);
          this.secret(parsed, w);
          w.path.pop();
          if (w.mutate && w.findings.length > before)
            ann[LAST_APPLIED] = JSON.stringify(parsed) + (/\s*$/.exec(text)?.[0] ?? '');
        } else {
          this.found(RULES.secretBody, w);
          if (w.mutate) ann[LAST_APPLIED] = this.options.marker.of(text);
        }
        w.path.length -= 3;
      }
    }
    this.object(s, w, SECRET_FIELDS);
  }

  private secretScalar(s: string, rule: string, w: Walk): string {
    if (s === '' || isMarker(s)) return s;
    this.found(rule, w);
    return w.mutate ? this.options.marker.of(s) : s;
  }

  private list(o: Obj, each: (item: unknown) => void, w: Walk): void {
    const items = o.items;
    if (Array.isArray(items)) {
      w.path.push('items');
      for (let i = 0; i < items.length; i++) {
        w.path.push(i);
        const item = items[i];
        if (typeof item === 'string') {
          const r = this.secretScalar(item, RULES.secretBody, w);
          if (w.mutate) items[i] = r;
        } else each(item);
        w.path.pop();
      }
      w.path.pop();
    }
    this.object(o, w, ITEMS_FIELD);
  }

  private tokenRequest(o: Obj, w: Walk): void {
    const status = o.status;
    if (isObj(status) && typeof status.token === 'string') {
      w.path.push('status', 'token');
      this.replace(status, 'token', status.token, RULES.tokenRequest, w, true);
      w.path.length -= 2;
    }
    this.object(o, w, NO_SKIP);
  }

  private tokenReview(o: Obj, w: Walk): void {
    const spec = o.spec;
    if (isObj(spec) && typeof spec.token === 'string') {
      w.path.push('spec', 'token');
      this.replace(spec, 'token', spec.token, RULES.tokenReview, w, true);
      w.path.length -= 2;
    }
    this.object(o, w, NO_SKIP);
  }

  /** CSRs carry public material; a private key pasted into spec.request is the one thing to remove. */
  private csr(o: Obj, w: Walk): void {
    const spec = o.spec;
    if (isObj(spec) && typeof spec.request === 'string' && !isMarker(spec.request)) {
      const req = spec.request;
      const decoded = /^[A-Za-z0-9+/=\s]+$/.test(req) ? Buffer.from(req, 'base64').toString('latin1') : req;
      if (decoded.includes('PRIVATE KEY')) {
        w.path.push('spec', 'request');
        this.replace(spec, 'request', req, RULES.csrPrivateKey, w, true);
        w.path.length -= 2;
      }
    }
    this.object(o, w, NO_SKIP);
  }

  /** JSON patch operations: the value of each is placed at its path, in a Secret or by the path's last name. */
  private jsonPatch(ops: unknown[], secret: boolean, w: Walk): void {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      w.path.push(i);
      if (isObj(op)) this.patchOp(op, secret, w);
      else if (secret && typeof op === 'string') {
        const r = this.secretScalar(op, RULES.secretBody, w);
        if (w.mutate) ops[i] = r;
      } else this.value(op, w);
      w.path.pop();
    }
  }

  /** One JSON-patch operation: its value is judged by where it goes (a Secret, or the path's last name). */
  private patchOp(op: Obj, secret: boolean, w: Walk): void {
    const segs = pointerSegments(op.path);
    if (!('value' in op) || op.value === null || op.value === undefined) return;
    w.path.push('value');
    if (secret) this.secretAt(op, segs ?? [], w);
    else {
      const last = segs?.at(-1);
      const v = op.value;
      if (
        last !== undefined &&
        (typeof v === 'string' || typeof v === 'number') &&
        this.options.names.isSensitive(last)
      ) {
        this.replace(op, 'value', String(v), RULES.sensitiveName, w);
      } else op.value = this.value(v, w);
    }
    w.path.pop();
  }

  /** The value of a patch operation on a Secret at the given pointer segments. */
  private secretAt(op: Obj, segs: string[], w: Walk): void {
    const v = op.value;
    const head = segs[0];
    if (head === undefined) {
      if (isObj(v)) this.secret(v, w);
      else if (typeof v === 'string') op.value = this.secretScalar(v, RULES.secretBody, w);
      return;
    }
    if (head === 'data' || head === 'stringData') {
      const rule = head === 'data' ? RULES.secretData : RULES.secretStringData;
      if (segs.length === 1 && isObj(v)) {
        for (const k of Object.keys(v)) {
          const x = v[k];
          if (x === null || x === undefined || x === '' || (typeof x === 'string' && isMarker(x))) continue;
          w.path.push(k);
          this.found(rule, w);
          if (w.mutate) v[k] = this.options.marker.of(asText(x));
          w.path.pop();
        }
        return;
      }
      if (typeof v === 'string' && isMarker(v)) return;
      this.found(rule, w);
      if (w.mutate) op.value = this.options.marker.of(asText(v));
      return;
    }
    if (head === 'metadata' && segs.at(-1) === LAST_APPLIED && typeof v === 'string') {
      if (parseJson(v) === undefined) op.value = this.secretScalar(v, RULES.secretBody, w);
      else op.value = this.text(v, w);
      return;
    }
    op.value = this.value(v, w);
  }

  // --- strings

  /** Free text: embedded JSON is walked; otherwise detectors and assignments find secrets inside. */
  private text(s: string, w: Walk): string {
    if (s.length < MIN_TEXT) return s;
    const c = s.charCodeAt(0);
    if ((c === 123 /* { */ || c === 91) /* [ */ && s.length > 8) {
      const parsed = parseJson(s);
      if (parsed !== undefined && typeof parsed === 'object' && parsed !== null) {
        const before = w.findings.length;
        w.path.push(EMBEDDED);
        this.value(parsed, w);
        w.path.pop();
        if (w.mutate && w.findings.length > before) {
          const tail = /\s*$/.exec(s)?.[0] ?? '';
          return JSON.stringify(parsed) + tail;
        }
        return s;
      }
    }
    // Audit events repeat the same strings (user agents, RBAC reasons, images): clean ones are remembered.
    const cacheable = s.length <= CLEAN_CACHE_MAX_LENGTH;
    if (cacheable && this.clean.has(s)) return s;
    const hits: Hit[] = [];
    if (this.builtinHint.test(s)) findPatterns(s, this.builtinHinted, hits);
    if (this.alwaysRun.length > 0) findPatterns(s, this.alwaysRun, hits);
    if (this.options.assignments) findAssignments(s, this.options.names, hits);
    const kept = hits.length === 0 ? hits : hits.filter((h) => !this.allowed(s.slice(h.start, h.end)));
    if (kept.length === 0) {
      if (cacheable) {
        if (this.clean.size >= CLEAN_CACHE_SIZE) this.clean.clear();
        this.clean.add(s);
      }
      return s;
    }
    kept.sort((a, b) => a.start - b.start || b.end - a.end);
    const rules = new Set<string>();
    let out = '';
    let at = 0;
    let i = 0;
    while (i < kept.length) {
      const h = kept[i]!;
      let end = h.end;
      rules.add(h.detector);
      let j = i + 1;
      while (j < kept.length && kept[j]!.start < end) {
        end = Math.max(end, kept[j]!.end);
        rules.add(kept[j]!.detector);
        j++;
      }
      const start = Math.max(h.start, at);
      if (w.mutate) out += s.slice(at, start) + this.options.marker.of(s.slice(start, end));
      at = end;
      i = j;
    }
    for (const r of rules) this.found(r, w);
    return w.mutate ? out + s.slice(at) : s;
  }

  /** A request URI: query parameters with sensitive names, exec/attach commands, and text in values. */
  private uri(uri: string, w: Walk): string {
    const q = uri.indexOf('?');
    const params = uri.slice(q + 1).split('&');
    let changed = false;
    const commands: number[] = [];
    for (let i = 0; i < params.length; i++) {
      const p = params[i]!;
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const rawValue = p.slice(eq + 1);
      if (rawValue === '') continue;
      const name = safeDecode(p.slice(0, eq));
      const value = safeDecode(rawValue);
      if (name === 'command') {
        commands.push(i);
        continue;
      }
      if (this.options.names.isSensitive(name)) {
        if (this.allowed(value)) continue;
        this.found(RULES.sensitiveName, w);
        params[i] = `${p.slice(0, eq)}=${encodeURIComponent(this.options.marker.of(value))}`;
        changed = true;
        continue;
      }
      const r = this.text(value, w);
      if (r !== value) {
        params[i] = `${p.slice(0, eq)}=${encodeURIComponent(r)}`;
        changed = true;
      }
    }
    if (commands.length > 0) {
      // exec/attach: `?command=sh&command=-c&command=…` is a command line, one parameter per argument.
      const argv = commands.map((i) => safeDecode(params[i]!.slice(params[i]!.indexOf('=') + 1)));
      const before = argv.slice();
      const sub: Walk = { mutate: true, path: w.path, findings: w.findings };
      this.array(argv, sub);
      // The array walk adds indices to the paths; the finding belongs to the request URI as a whole.
      for (const f of w.findings) if (f.path.startsWith('requestURI[')) f.path = 'requestURI';
      commands.forEach((pi, k) => {
        if (argv[k] !== before[k]) {
          params[pi] = `command=${encodeURIComponent(String(argv[k]))}`;
          changed = true;
        }
      });
    }
    return changed && w.mutate ? `${uri.slice(0, q + 1)}${params.join('&')}` : uri;
  }

  // --- helpers

  private allowed(candidate: string): boolean {
    if (isPlaceholder(candidate)) return true;
    for (const r of this.options.allowValues) {
      r.lastIndex = 0;
      if (r.test(candidate)) return true;
    }
    return false;
  }

  /**
   * Replaces container[key] (a secret value whose path is on the walk) by a marker, unless it is a marker,
   * a placeholder or allowed. `always` skips the placeholder and allow-list checks (structural rules).
   */
  private replace(
    container: Obj | unknown[],
    key: string | number,
    value: string,
    rule: string,
    w: Walk,
    always = false,
  ): void {
    if (value === '' || isMarker(value)) return;
    if (!always && this.allowed(value)) return;
    this.found(rule, w);
    if (w.mutate) (container as Record<string | number, unknown>)[key] = this.options.marker.of(value);
  }

  private found(rule: string, w: Walk): void {
    w.findings.push({ path: formatPath(w.path), rule });
  }

  // --- pseudonymization

  private pseudonymize(e: AuditEvent, pz: Pseudonymizer, w: Walk): void {
    const o = pz.options;
    const users = new Map<string, string>();
    const change = (path: string) => w.findings.push({ path, rule: RULES.pseudonym });
    for (const who of ['user', 'impersonatedUser'] as const) {
      const u = e[who];
      const name = u?.username;
      if (!u || typeof name !== 'string' || name === '') continue;
      const isEmail = /@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(name);
      if (!(o.users || (o.emails && isEmail))) continue;
      const p = pz.user(name);
      if (p === name) continue;
      users.set(name, p);
      u.username = p;
      change(`${who}.username`);
      if (typeof u.uid === 'string' && u.uid !== '' && !/^u-[0-9a-f]{12}$/.test(u.uid)) {
        u.uid = pz.user(`uid:${u.uid}`);
        change(`${who}.uid`);
      }
    }
    if (o.sourceIPs && Array.isArray(e.sourceIPs)) {
      e.sourceIPs.forEach((ip, i) => {
        const p = pz.ip(ip);
        if (p !== ip) {
          e.sourceIPs![i] = p;
          change(`sourceIPs[${i}]`);
        }
      });
    }
    if (users.size === 0 && !o.emails) return;
    const text = (s: string, path: string): string => {
      const r = pz.text(s, users);
      if (r !== s) change(path);
      return r;
    };
    if (e.responseStatus && typeof e.responseStatus.message === 'string')
      e.responseStatus.message = text(e.responseStatus.message, 'responseStatus.message');
    if (e.annotations) {
      for (const [k, v] of Object.entries(e.annotations)) {
        if (k !== REDACTED_ANNOTATION && typeof v === 'string')
          e.annotations[k] = text(v, formatPath(['annotations', k]));
      }
    }
    for (const field of ['requestObject', 'responseObject'] as const) {
      const body = e[field];
      if (body !== undefined && body !== null && typeof body === 'object')
        pseudonymizeBody(body, pz, users, [field], change);
    }
  }
}

/** People named inside bodies: RBAC subjects of kind User, `user`/`username` fields, e-mails in any text. */
function pseudonymizeBody(
  v: unknown,
  pz: Pseudonymizer,
  users: Map<string, string>,
  path: PathStep[],
  change: (path: string) => void,
): void {
  const o = pz.options;
  const visit = (container: Obj | unknown[], key: string | number, s: string) => {
    if (isMarker(s)) return;
    let r: string;
    const k = typeof key === 'string' ? key : '';
    const isUserField =
      k === 'username' ||
      k === 'user' ||
      (k === 'name' && !Array.isArray(container) && (container as Obj).kind === 'User');
    if (o.users && isUserField) r = pz.user(s);
    else r = pz.text(s, users);
    if (r !== s) {
      (container as Obj)[key as string] = r;
      change(formatPath([...path, key]));
    }
  };
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      if (typeof x === 'string') visit(v, i, x);
      else if (x !== null && typeof x === 'object') pseudonymizeBody(x, pz, users, [...path, i], change);
    });
    return;
  }
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'string') visit(v, k, x);
    else if (x !== null && typeof x === 'object') pseudonymizeBody(x, pz, users, [...path, k], change);
  }
}

const DATA_BLOCK = /"(?:data|stringData)"\s*:\s*\{[^{}]*\}?/g;
const DATA_ENTRY = /"((?:[^"\\]|\\.)*)"\s*:\s*"((?:[^"\\]|\\.)*)"?/g;
const PEOPLE = ['user', 'impersonatedUser'] as const;
const EXTRA_KEPT: ReadonlySet<string> = new Set(['accessKeyId']);
const SECRET_FIELDS: ReadonlySet<string> = new Set(['data', 'stringData']);
const ITEMS_FIELD: ReadonlySet<string> = new Set(['items']);
const NO_SKIP: ReadonlySet<string> = new Set();

// Events without objectRef (some exports) still say what they are about in the request URI.
const CORE_URI = /^\/api\/v1\/(?:namespaces\/[^/?]+\/)?([a-z]+)(?:\/[^/?]+(?:\/([a-z]+))?)?\/?(?:\?|$)/;

function contextFromUri(uri: unknown): BodyContext {
  const m = typeof uri === 'string' ? CORE_URI.exec(uri) : null;
  return { resource: m?.[1], subresource: m?.[2], group: undefined };
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
