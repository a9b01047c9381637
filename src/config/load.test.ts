import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './load.js';

function problems(text: string) {
  try {
    parseConfig(text, 'c.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('the configuration was accepted');
}

describe('parseConfig', () => {
  it('fills every default and keeps what is given', () => {
    const c = parseConfig('cluster: prod-eu\nretention: 90d\n', 'c.yaml');
    expect(c.cluster).toBe('prod-eu');
    expect(c.retention).toBe('90d');
    expect(c.listen).toBe('127.0.0.1:7480');
    expect(parseConfig('', 'c.yaml').retention).toBeUndefined();
  });

  it('reports every problem with its key path, line and column', () => {
    expect(problems('listen: nowhere\nretention: 12h\nbogus: 1\n')).toEqual([
      { path: 'listen', line: 1, column: 9, message: 'must be HOST:PORT, e.g. 127.0.0.1:7480' },
      {
        path: 'retention',
        line: 2,
        column: 12,
        message: 'must be a duration of at least 1d, e.g. 90d or 52w',
      },
      { path: 'bogus', line: 3, column: 8, message: 'unknown key "bogus"' },
    ]);
    expect(problems('retention: forever\n')[0]).toMatchObject({ path: 'retention', line: 1 });
  });

  it('reports YAML syntax errors with their position', () => {
    expect(problems('files: [a\n')[0]).toMatchObject({ path: '', line: 2 });
  });
});
