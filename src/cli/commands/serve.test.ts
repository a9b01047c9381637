import { describe, expect, it } from 'vitest';
import { isKubetrailError } from '../../core/errors.js';
import { resolveServeConfig } from './serve.js';

describe('serve flags', () => {
  it('--tls-cert and --tls-key turn TLS on, keeping a client CA from the configuration', () => {
    const c = resolveServeConfig({ tail: [], tlsCert: '/etc/kt/tls.crt', tlsKey: '/etc/kt/tls.key' }, {});
    expect(c.tls).toEqual({ cert: '/etc/kt/tls.crt', key: '/etc/kt/tls.key' });
  });

  it('refuses a certificate without its key, and a key without its certificate, naming the missing flag', () => {
    for (const [flags, missing] of [
      [{ tlsCert: 'a.crt' }, '--tls-key'],
      [{ tlsKey: 'a.key' }, '--tls-cert'],
    ] as const) {
      let err: unknown;
      try {
        resolveServeConfig({ tail: [], ...flags }, {});
      } catch (e) {
        err = e;
      }
      expect(isKubetrailError(err) && err.code).toBe('KT_USAGE');
      expect(isKubetrailError(err) && err.where?.path).toBe(missing);
    }
  });

  it('leaves TLS off without the flags', () => {
    expect(resolveServeConfig({ tail: [] }, {}).tls).toBeUndefined();
  });

  it('takes the data key from --key-file, else KUBETRAIL_KEY_FILE, else the configuration', () => {
    expect(resolveServeConfig({ tail: [] }, {}).encryption.keyFile).toBeUndefined();
    const env = { KUBETRAIL_KEY_FILE: '/env.key' };
    expect(resolveServeConfig({ tail: [] }, env).encryption.keyFile).toBe('/env.key');
    expect(resolveServeConfig({ tail: [], keyFile: '/flag.key' }, env).encryption.keyFile).toBe('/flag.key');
  });
});
