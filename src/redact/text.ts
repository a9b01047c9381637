// Text and URI scanning: finds secrets inside free text (embedded JSON is handed back to the walk; other
// text goes through the value detectors and `name=value` assignments, with the allow-list applied and a
// cache of strings known to be clean) and inside request URIs (query parameters with sensitive names,
// exec/attach command lines, text in parameter values).
import { findAssignments, findPatterns, hintOf, type Detector, type Hit } from './detectors.js';
import { EMBEDDED } from './paths.js';
import { allowed, found, parseJson, RULES, type RedactOptions, type Walk, type Walker } from './walk.js';

const MIN_TEXT = 5;
const CLEAN_CACHE_SIZE = 20_000;
const CLEAN_CACHE_MAX_LENGTH = 512;

export class TextScanner {
  private readonly options: RedactOptions;
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

  /** Free text: embedded JSON is walked; otherwise detectors and assignments find secrets inside. */
  text(s: string, w: Walk, walker: Walker): string {
    if (s.length < MIN_TEXT) return s;
    const c = s.charCodeAt(0);
    if ((c === 123 /* { */ || c === 91) /* [ */ && s.length > 8) {
      const parsed = parseJson(s);
      if (parsed !== undefined && typeof parsed === 'object' && parsed !== null) {
        const before = w.findings.length;
        w.path.push(EMBEDDED);
        walker.value(parsed, w);
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
    const kept =
      hits.length === 0 ? hits : hits.filter((h) => !allowed(this.options, s.slice(h.start, h.end)));
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
    for (const r of rules) found(r, w);
    return w.mutate ? out + s.slice(at) : s;
  }

  /** A request URI: query parameters with sensitive names, exec/attach commands, and text in values. */
  uri(uri: string, w: Walk, walker: Walker): string {
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
        if (allowed(this.options, value)) continue;
        found(RULES.sensitiveName, w);
        params[i] = `${p.slice(0, eq)}=${encodeURIComponent(this.options.marker.of(value))}`;
        changed = true;
        continue;
      }
      const r = walker.text(value, w);
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
      walker.array(argv, sub);
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
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
