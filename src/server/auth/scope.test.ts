// The body-field guard: which field names read bodies, and that a filter naming one anywhere is refused
// (with its parameter and column) to a viewer without bodies, and allowed to everyone else.
import { describe, expect, it } from 'vitest';
import { isKubetrailError } from '../../core/errors.js';
import { FIELDS } from '../../fields/catalog.js';
import { parseQuery, type QueryNode } from '../../query/index.js';
import { assertFieldAllowed, assertFilterAllowed, isBodyField, type Principal } from './scope.js';

const viewer: Principal = { name: 'v', role: 'viewer', scope: 'ns:a', bodies: false, via: 'token' };
const viewerBodies: Principal = { ...viewer, bodies: true };
const analyst: Principal = { name: 'a', role: 'analyst', bodies: false, via: 'token' };

function thrown(f: () => void): { code: string; where?: { path?: string; column?: number } } | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (!isKubetrailError(err)) throw err;
    return { code: err.code, ...(err.where ? { where: err.where } : {}) };
  }
}

describe('body fields', () => {
  it('are JSON paths under requestObject and responseObject, in any letter case', () => {
    for (const f of ['requestObject.data.password', 'RESPONSEOBJECT.spec', 'requestobject.metadata.name'])
      expect(isBodyField(f), f).toBe(true);
    for (const f of ['verb', 'user', 'objectRef.name', 'annotations.requestObject.x', 'responseStatus.code'])
      expect(isBodyField(f), f).toBe(false);
  });

  it('include no catalog field, so no free-text field searches bodies', () => {
    expect(FIELDS.filter((f) => isBodyField(f.name)).map((f) => f.name)).toEqual([]);
    expect(FIELDS.filter((f) => f.text && /^(request|response)Object/i.test(f.source))).toEqual([]);
  });
});

describe('assertFilterAllowed', () => {
  it('refuses a body field in any kind of term, at its column, to a viewer without bodies', () => {
    for (const [filter, column] of [
      ['requestObject.data.x:abc*', 1],
      ['verb:get AND -(ns:a OR responseObject.spec.replicas>2)', 24],
      ['requestObject.data.x:*', 1],
      ['user:a requestObject.kind:(Secret OR ConfigMap)', 28],
    ] as const) {
      expect(
        thrown(() => assertFilterAllowed(viewer, 'q', parseQuery(filter))),
        filter,
      ).toEqual({
        code: 'KT_BODY_FORBIDDEN',
        where: { path: 'q', column },
      });
      expect(thrown(() => assertFilterAllowed(viewerBodies, 'q', parseQuery(filter)))).toBeUndefined();
      expect(thrown(() => assertFilterAllowed(analyst, 'q', parseQuery(filter)))).toBeUndefined();
    }
    expect(
      thrown(() => assertFilterAllowed(viewer, 'q', parseQuery('verb:get secret ns:a'))),
    ).toBeUndefined();
  });

  it('walks any nesting depth without recursion', () => {
    let node: QueryNode = {
      type: 'match',
      field: 'requestObject.x',
      value: { text: 'y', quoted: false, wildcard: false },
    };
    for (let i = 0; i < 200_000; i++) node = { type: 'not', child: node };
    expect(thrown(() => assertFilterAllowed(viewer, 'q', node))?.code).toBe('KT_BODY_FORBIDDEN');
  });
});

describe('assertFieldAllowed', () => {
  it('refuses a body field parameter only to a viewer without bodies', () => {
    expect(thrown(() => assertFieldAllowed(viewer, 'field', 'requestObject.data.token'))).toEqual({
      code: 'KT_BODY_FORBIDDEN',
      where: { path: 'field' },
    });
    expect(thrown(() => assertFieldAllowed(viewer, 'field', 'verb'))).toBeUndefined();
    expect(
      thrown(() => assertFieldAllowed(viewerBodies, 'field', 'requestObject.data.token')),
    ).toBeUndefined();
  });
});
