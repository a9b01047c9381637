// Sink: the matches of `query --file`, the one sink of that topology (not in the registry: a query
// keeps what it prints, it stores nothing). Durable in the contract's sense: the run waits for it.
import type { NewestMatches } from '../../query/file-query.js';
import type { SinkFactory } from './index.js';

/** The sink of `matches`: anything that takes batches of records (the file being read routes them). */
export function matchesSink(matches: Pick<NewestMatches, 'add'>): SinkFactory {
  return {
    name: 'matches',
    create: () => ({ name: 'matches', role: 'durable', write: (records) => matches.add(records) }),
  };
}
