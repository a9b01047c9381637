// `kubetrail tail` against a server that refuses the stream: the server's error code reaches the user.
import { describe, expect, it } from 'vitest';
import { serverError } from './tail.js';

describe('tail: a refused stream', () => {
  it("keeps the server's own code and hint (too many streams, a body field)", () => {
    const e = serverError(429, { code: 'KT_STREAM_LIMIT', hint: 'close another stream' }, 'm');
    expect(e.code).toBe('KT_STREAM_LIMIT');
    expect(e.hint).toBe('close another stream');
    expect(serverError(403, { code: 'KT_BODY_FORBIDDEN' }, 'm').code).toBe('KT_BODY_FORBIDDEN');
  });

  it('chooses by status when the server sent no known code', () => {
    expect(serverError(401, undefined, 'm').code).toBe('KT_AUTH_REQUIRED');
    expect(serverError(401, undefined, 'm').hint).toContain('KUBETRAIL_TOKEN');
    expect(serverError(403, { code: 'NOT_OURS' }, 'm').code).toBe('KT_FORBIDDEN');
    expect(serverError(400, {}, 'm').code).toBe('KT_QUERY_SYNTAX');
    expect(serverError(502, undefined, 'm').code).toBe('KT_SERVER_UNREACHABLE');
  });
});
