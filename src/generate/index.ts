// Realistic audit event generation: the demo data set and benchmark data.
export {
  generateEvents,
  demoEvents,
  writeEventsFile,
  DEMO_START,
  DEMO_DURATION_MS,
  DEMO_SEED,
  type GenerateOptions,
} from './generate.js';
export { DEMO_INCIDENTS, type Incident } from './incidents.js';
