// Tests of the cheap pre-checks that decide which text the redactor's expressions run on: each built-in
// detector's hint holds for every match of its expression, and the key hint of the name rules holds for
// every sensitive `name=value` key, so that neither pre-check can let a credential through.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../core/event.js';
import { compileRedactConfig } from './config.js';
import { BUILTIN_DETECTORS, findAssignments, hintOf, type Hit } from './detectors.js';
import { NameClassifier, SENSITIVE_EXACT, SENSITIVE_WORDS } from './names.js';
import { Redactor } from './redactor.js';

/** Random text made of pieces of the detectors' examples and of characters their expressions look at. */
const fragment = fc.oneof(
  fc
    .tuple(fc.constantFrom(...BUILTIN_DETECTORS.flatMap((d) => d.examples)), fc.nat(), fc.nat())
    .map(([ex, a, b]) =>
      ex.slice(Math.min(a, b) % (ex.length + 1), Math.max(a, b) % (ex.length + 1) || undefined),
    ),
  fc.constantFrom(' ', '\n', '.', '-', '_', '/', ':', '=', '@', '?', '&', 'a', 'Z', '0', '7', 'x'),
  fc.string({ maxLength: 8 }),
);
const text = fc.array(fragment, { maxLength: 12 }).map((a) => a.join(''));

describe('detector hints', () => {
  it('every built-in detector has a hint, and its examples hold it', () => {
    for (const d of BUILTIN_DETECTORS) {
      expect(d.hint, d.id).toBeInstanceOf(RegExp);
      for (const ex of d.examples) expect(d.hint!.test(ex), `${d.id}: ${ex}`).toBe(true);
    }
  });

  it('every match of a built-in detector holds its hint', () => {
    fc.assert(
      fc.property(text, (s) => {
        for (const d of BUILTIN_DETECTORS) {
          const re = new RegExp(d.regex.source, d.regex.flags);
          for (const m of s.matchAll(re))
            expect(d.hint!.test(m[0]), `${d.id} in ${JSON.stringify(s)}`).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('the union covers every detector given, and a detector without a hint covers all text', () => {
    const union = hintOf(BUILTIN_DETECTORS);
    for (const d of BUILTIN_DETECTORS) for (const ex of d.examples) expect(union.test(ex), d.id).toBe(true);
    const loose = hintOf([{ id: 'x', title: 'x', regex: /q/g, examples: [] }]);
    expect(loose.test('')).toBe(true);
    expect(hintOf([]).test('anything')).toBe(false);
  });
});

/** Keys as `name=value` text writes them: sensitive words and exact names cut by `_`, `.`, `-`, any case. */
const key = fc
  .tuple(
    fc.constantFrom(...SENSITIVE_WORDS, ...SENSITIVE_EXACT, 'ssn', 'name', 'ref', 'db', 'x'),
    fc.array(fc.nat(), { maxLength: 3 }),
    fc.constantFrom('_', '.', '-'),
    fc.boolean(),
    fc.constantFrom('', 'db_', 'APP.', 'x-'),
    fc.constantFrom('', '_name', 'S', '.file'),
  )
  .map(([w, cuts, sep, upper, before, after]) => {
    let k = w;
    for (const c of cuts) {
      const at = 1 + (c % Math.max(1, k.length - 1));
      k = `${k.slice(0, at)}${sep}${k.slice(at)}`;
    }
    return `${before}${upper ? k.toUpperCase() : k}${after}`;
  });

describe('key hint of the name rules', () => {
  const plain = new NameClassifier();
  const extra = new NameClassifier({ extraWords: ['ssn'] });

  it('holds for every sensitive key, whatever cuts its words', () => {
    fc.assert(
      fc.property(key, fc.constantFrom('=', ': ', '='), (k, sep) => {
        const line = `export ${k}${sep}9f8e7d6c5b4a3210`;
        for (const names of [plain, extra]) {
          const hits: Hit[] = [];
          findAssignments(line, names, hits);
          if (names.isSensitive(k)) {
            expect(names.keyHint.test(line), k).toBe(true);
            expect(hits.length, k).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('a key whose sensitive word is cut by `_` or `-` is redacted in a ConfigMap', () => {
    const r = new Redactor(compileRedactConfig());
    for (const line of [
      'TO_KEN=9f8e7d6c5b4a3210',
      'export SE-CRET=9f8e7d6c5b4a3210',
      'p.w: 9f8e7d6c5b4a3210',
    ]) {
      const e = {
        verb: 'create',
        requestURI: '/api/v1/namespaces/a/configmaps',
        objectRef: { resource: 'configmaps', namespace: 'a' },
        requestObject: { kind: 'ConfigMap', data: { 'run.sh': line } },
      } as unknown as AuditEvent;
      expect(
        r.redact(e).map((f) => f.rule),
        line,
      ).toEqual(['sensitive-assignment']);
      expect(JSON.stringify(e), line).not.toContain('9f8e7d6c5b4a3210');
    }
  });
});
