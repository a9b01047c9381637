// Realistic audit event generation: the demo data set and benchmark data.
export {
  generateEvents,
  demoEvents,
  demoStart,
  writeEventsFile,
  DEMO_START,
  DEMO_DURATION_MS,
  DEMO_SEED,
  DEMO_END_BEFORE_NOW_MS,
  DEMO_DEFAULT_EVENTS,
  type DemoOptions,
  type GenerateOptions,
} from './generate.js';
export { DEMO_INCIDENTS, incidentAuditID, type Incident } from './incidents.js';
