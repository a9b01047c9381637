// Sink: the matches of `query --file`, the one sink of that topology (not in the registry: a query
// keeps what it prints, it stores nothing). Durable in the contract's sense: the run waits for it.
import type { NewestMatches } from '../../query/file-query.js';
import type { SinkFactory } from './index.js';

export function matchesSink(matches: NewestMatches): SinkFactory {
  return {
    name: 'matches',
    create: () => ({ name: 'matches', role: 'durable', write: (records) => matches.add(records) }),
  };
}
