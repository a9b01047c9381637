// Where the requests come from: the stored events of a range (any Store, a remote one included) read page
// by page, or batches read from files, tallied into distinct requests; and the store filter that keeps
// only the events a subject can be in (as the user, the impersonated user, or one of the groups).
import type { EventRecord } from '../core/event.js';
import type { QueryNode } from '../query/syntax/ast.js';
import { allEvents } from '../store/paging.js';
import type { Store } from '../store/store.js';
import { RequestTally } from './requests.js';
import type { SubjectRef } from './subject.js';
import { serviceAccountUser } from './types.js';

const match = (field: string, text: string): QueryNode => ({
  type: 'match',
  field,
  value: { text, quoted: true, wildcard: false },
});

/** The events a subject's requests are in: made by it, or by anyone impersonating (for groups). */
export function subjectFilter(s: SubjectRef): QueryNode {
  if (s.kind === 'Group')
    return { type: 'or', children: [match('group', s.name), { type: 'exists', field: 'impersonated' }] };
  const user = s.kind === 'User' ? s.name : serviceAccountUser(s.namespace, s.name);
  return { type: 'or', children: [match('user', user), match('impersonated', user)] };
}

export interface TallyProgress {
  events: number;
  truncated: boolean;
}

/** Tallies the requests of the stored events that match `filter` in the range. */
export async function tallyStore(
  store: Pick<Store, 'query'>,
  opts: { filter?: QueryNode; since?: number; until?: number; max?: number; progress?: TallyProgress },
  tally = new RequestTally(),
): Promise<RequestTally> {
  for await (const page of allEvents(store, opts)) for (const r of page) tally.add(r.event);
  return tally;
}

/** Tallies the requests of event batches (files), keeping those in the range. */
export async function tallyBatches(
  batches: AsyncIterable<EventRecord[]>,
  range: { since?: number; until?: number },
  tally = new RequestTally(),
): Promise<RequestTally> {
  for await (const batch of batches) for (const r of batch) tally.add(r.event, range);
  return tally;
}
