// Test helper: a pass-through transform that holds every batch until released, to stand for a slow
// store or pipeline (a full queue, a full segment log).
import type { EventRecord } from '../core/event.js';
import type { Transform } from '../core/transform.js';

export function gatedTransform(): { transform: Transform; release: () => void } {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const transform: Transform = {
    name: 'slow',
    apply: async (b: EventRecord[]) => {
      await gate;
      return b;
    },
  };
  return { transform, release: () => release() };
}
