// What the transforms of a topology are built from, and the shape of one stage of the transform order
// (src/pipeline/transforms/index.ts): each stage says which transforms it adds, if any, for the options.
import type { EventRecord } from '../../core/event.js';
import type { Policy } from '../../policy/types.js';
import type { Transform } from '../contracts.js';

export interface StageOptions {
  /** An audit policy (drop, downgrade, omit stages, strip managed fields). */
  policy?: Policy;
  /** Largest event stored whole, in bytes; false: no cap (query --file prints events as they are). */
  maxEventBytes: number | false;
  /** Hears each event cut to the cap. */
  onTruncated?: (record: EventRecord) => void;
  /** The redaction transform (the caller keeps it: its redactor also cleans the quarantine). */
  redaction?: Transform;
  /** Transforms of the caller's own (tests, embedding), run after redaction and before detection. */
  extra?: readonly Transform[];
  /** The detection transform: last, on what is stored. */
  detection?: Transform;
}

export interface TransformStage {
  readonly name: string;
  create(o: StageOptions): Transform[];
}
