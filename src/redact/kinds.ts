// Per-kind rules: where Kubernetes keeps credentials and how each place is redacted. A request or response
// body is judged by the resource it is about (secrets, serviceaccounts/token, tokenreviews,
// certificatesigningrequests; taken from objectRef, or from the request URI when there is none); objects
// found anywhere are judged by their `kind` (Secret, SecretList, TokenRequest, TokenReview,
// CertificateSigningRequest). Secret data and stringData, a Secret's last-applied-configuration annotation,
// TokenRequest and TokenReview tokens, private keys pasted into CSRs, and JSON-patch operations (in a
// Secret, or by their path's last name) are handled here; everything else goes back to the generic walk.
import { isMarker } from './marker.js';
import { EMBEDDED } from './paths.js';
import {
  asText,
  found,
  isObj,
  LAST_APPLIED,
  parseJson,
  replace,
  RULES,
  type Obj,
  type Walk,
  type Walker,
} from './walk.js';

/** What a request or response body is about. */
export interface BodyContext {
  resource: string | undefined;
  subresource: string | undefined;
  group: string | undefined;
}

const SECRET_FIELDS: ReadonlySet<string> = new Set(['data', 'stringData']);
const ITEMS_FIELD: ReadonlySet<string> = new Set(['items']);
const NO_SKIP: ReadonlySet<string> = new Set();

// Events without objectRef (some exports) still say what they are about in the request URI.
const CORE_URI = /^\/api\/v1\/(?:namespaces\/[^/?]+\/)?([a-z]+)(?:\/[^/?]+(?:\/([a-z]+))?)?\/?(?:\?|$)/;

export function contextFromUri(uri: unknown): BodyContext {
  const m = typeof uri === 'string' ? CORE_URI.exec(uri) : null;
  return { resource: m?.[1], subresource: m?.[2], group: undefined };
}

function pointerSegments(p: unknown): string[] | undefined {
  if (typeof p !== 'string') return undefined;
  if (p === '' || p === '/') return [];
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** An object whose `kind` has a rule of its own: applies it and returns true; false for any other kind. */
export function byKind(r: Walker, o: Obj, kind: string, w: Walk): boolean {
  switch (kind) {
    case 'Secret':
      secret(r, o, w);
      return true;
    case 'SecretList':
      list(r, o, (item) => secret(r, item, w), w);
      return true;
    case 'TokenRequest':
      tokenRequest(r, o, w);
      return true;
    case 'TokenReview':
      tokenReview(r, o, w);
      return true;
    case 'CertificateSigningRequest':
      csr(r, o, w);
      return true;
  }
  return false;
}

/** A request or response body, judged by what the event is about. Returns the new value. */
export function body(r: Walker, v: unknown, ctx: BodyContext, w: Walk): unknown {
  const secrets = ctx.resource === 'secrets' && !ctx.group && !ctx.subresource;
  if (secrets) {
    if (typeof v === 'string') return secretScalar(r, v, RULES.secretBody, w);
    if (Array.isArray(v)) {
      jsonPatch(r, v, true, w);
      return v;
    }
    if (isObj(v)) {
      if (v.kind === undefined || v.kind === 'Secret') {
        if (Array.isArray(v.items)) list(r, v, (item) => secret(r, item, w), w);
        else secret(r, v, w);
      } else r.object(v, w);
    }
    return v;
  }
  if (isObj(v) && v.kind === undefined) {
    // Kind-less bodies (patches, some clients): the resource says what they are.
    if (ctx.resource === 'tokenreviews' && ctx.group === 'authentication.k8s.io') tokenReview(r, v, w);
    else if (ctx.resource === 'serviceaccounts' && ctx.subresource === 'token') tokenRequest(r, v, w);
    else if (ctx.resource === 'certificatesigningrequests' && ctx.group === 'certificates.k8s.io')
      csr(r, v, w);
    else r.object(v, w);
    return v;
  }
  if (Array.isArray(v) && v.length > 0 && v.every((op) => isObj(op) && typeof op.op === 'string')) {
    jsonPatch(r, v, false, w);
    return v;
  }
  return r.value(v, w);
}

/** A Secret (with or without kind): every value of data and stringData; last-applied is parsed or dropped. */
export function secret(r: Walker, s: unknown, w: Walk): void {
  if (!isObj(s)) {
    if (typeof s === 'string') secretScalar(r, s, RULES.secretBody, w);
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
        found(rule, w);
        if (w.mutate) d[k] = r.options.marker.of(asText(v));
        w.path.pop();
      }
    } else if (!(typeof d === 'string' && isMarker(d))) {
      found(rule, w);
      if (w.mutate) s[field] = r.options.marker.of(asText(d));
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
        secret(r, parsed, w);
        w.path.pop();
        if (w.mutate && w.findings.length > before)
          ann[LAST_APPLIED] = JSON.stringify(parsed) + (/\s*$/.exec(text)?.[0] ?? '');
      } else {
        found(RULES.secretBody, w);
        if (w.mutate) ann[LAST_APPLIED] = r.options.marker.of(text);
      }
      w.path.length -= 3;
    }
  }
  r.object(s, w, SECRET_FIELDS);
}

export function secretScalar(r: Walker, s: string, rule: string, w: Walk): string {
  if (s === '' || isMarker(s)) return s;
  found(rule, w);
  return w.mutate ? r.options.marker.of(s) : s;
}

export function list(r: Walker, o: Obj, each: (item: unknown) => void, w: Walk): void {
  const items = o.items;
  if (Array.isArray(items)) {
    w.path.push('items');
    for (let i = 0; i < items.length; i++) {
      w.path.push(i);
      const item = items[i];
      if (typeof item === 'string') {
        const out = secretScalar(r, item, RULES.secretBody, w);
        if (w.mutate) items[i] = out;
      } else each(item);
      w.path.pop();
    }
    w.path.pop();
  }
  r.object(o, w, ITEMS_FIELD);
}

/** Replaces the token a TokenRequest returns (`status.token`) or a TokenReview asks about (`spec.token`). */
function tokenAt(r: Walker, o: Obj, w: Walk, field: 'status' | 'spec', rule: string): void {
  const holder = o[field];
  if (isObj(holder) && typeof holder.token === 'string') {
    w.path.push(field, 'token');
    replace(r.options, holder, 'token', holder.token, rule, w, true);
    w.path.length -= 2;
  }
  r.object(o, w, NO_SKIP);
}

export function tokenRequest(r: Walker, o: Obj, w: Walk): void {
  tokenAt(r, o, w, 'status', RULES.tokenRequest);
}

export function tokenReview(r: Walker, o: Obj, w: Walk): void {
  tokenAt(r, o, w, 'spec', RULES.tokenReview);
}

/** CSRs carry public material; a private key pasted into spec.request is the one thing to remove. */
export function csr(r: Walker, o: Obj, w: Walk): void {
  const spec = o.spec;
  if (isObj(spec) && typeof spec.request === 'string' && !isMarker(spec.request)) {
    const req = spec.request;
    const decoded = /^[A-Za-z0-9+/=\s]+$/.test(req) ? Buffer.from(req, 'base64').toString('latin1') : req;
    if (decoded.includes('PRIVATE KEY')) {
      w.path.push('spec', 'request');
      replace(r.options, spec, 'request', req, RULES.csrPrivateKey, w, true);
      w.path.length -= 2;
    }
  }
  r.object(o, w, NO_SKIP);
}

/** JSON patch operations: the value of each is placed at its path, in a Secret or by the path's last name. */
export function jsonPatch(r: Walker, ops: unknown[], inSecret: boolean, w: Walk): void {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    w.path.push(i);
    if (isObj(op)) patchOp(r, op, inSecret, w);
    else if (inSecret && typeof op === 'string') {
      const out = secretScalar(r, op, RULES.secretBody, w);
      if (w.mutate) ops[i] = out;
    } else r.value(op, w);
    w.path.pop();
  }
}

/** One JSON-patch operation: its value is judged by where it goes (a Secret, or the path's last name). */
export function patchOp(r: Walker, op: Obj, inSecret: boolean, w: Walk): void {
  const segs = pointerSegments(op.path);
  if (!('value' in op) || op.value === null || op.value === undefined) return;
  w.path.push('value');
  if (inSecret) secretAt(r, op, segs ?? [], w);
  else {
    const last = segs?.at(-1);
    const v = op.value;
    if (
      last !== undefined &&
      (typeof v === 'string' || typeof v === 'number') &&
      r.options.names.isSensitive(last)
    ) {
      replace(r.options, op, 'value', String(v), RULES.sensitiveName, w);
    } else op.value = r.value(v, w);
  }
  w.path.pop();
}

/** The value of a patch operation on a Secret at the given pointer segments. */
export function secretAt(r: Walker, op: Obj, segs: string[], w: Walk): void {
  const v = op.value;
  const head = segs[0];
  if (head === undefined) {
    if (isObj(v)) secret(r, v, w);
    else if (typeof v === 'string') op.value = secretScalar(r, v, RULES.secretBody, w);
    return;
  }
  if (head === 'data' || head === 'stringData') {
    const rule = head === 'data' ? RULES.secretData : RULES.secretStringData;
    if (segs.length === 1 && isObj(v)) {
      for (const k of Object.keys(v)) {
        const x = v[k];
        if (x === null || x === undefined || x === '' || (typeof x === 'string' && isMarker(x))) continue;
        w.path.push(k);
        found(rule, w);
        if (w.mutate) v[k] = r.options.marker.of(asText(x));
        w.path.pop();
      }
      return;
    }
    if (typeof v === 'string' && isMarker(v)) return;
    found(rule, w);
    if (w.mutate) op.value = r.options.marker.of(asText(v));
    return;
  }
  if (head === 'metadata' && segs.at(-1) === LAST_APPLIED && typeof v === 'string') {
    if (parseJson(v) === undefined) op.value = secretScalar(r, v, RULES.secretBody, w);
    else op.value = r.text(v, w);
    return;
  }
  op.value = r.value(v, w);
}
