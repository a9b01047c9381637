// Event input: reading files, directories, gzip and stdin; decoding; normalization; quarantine.
export { readEvents, type ReadOptions } from './read.js';
export { listInputFiles, orderLogFiles, type InputFile } from './files.js';
export {
  normalizeEvent,
  normalizeDocument,
  normalizeAuditEvent,
  SYNTHESIZED_ID_ANNOTATION,
  type Normalized,
} from './normalize.js';
export {
  createFileQuarantine,
  createMemoryQuarantine,
  type BadRecord,
  type Quarantine,
} from './quarantine.js';
