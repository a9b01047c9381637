// Event input: reading files, directories, gzip and stdin; decoding; normalization; quarantine.
export { isGzipFile, readEvents, type ReadOptions } from './read.js';
export { listInputFiles, orderLogFiles, type InputFile } from './files.js';
export { normalizeEvent, normalizeDocument, type Normalized } from './normalize.js';
export { normalizeAuditEvent, SYNTHESIZED_ID_ANNOTATION } from './formats/audit-event.js';
export {
  createFileQuarantine,
  createMemoryQuarantine,
  type BadRecord,
  type Quarantine,
} from './quarantine.js';
