// Sink: publication of the alerts that detection raised. Detection (the last transform) stores each
// alert and queues its deliveries in the alert outbox (src/detect/session.ts) as it raises it; this
// follower hands the alerts raised so far to the live stream once the batch that raised them is stored,
// so that a subscriber never sees an alert before the events it is about can be read.
import type { Alert } from '../../core/alert.js';
import type { Sink } from '../contracts.js';

/** Where alerts raised by detection wait until their batch is stored, and who hears them then. */
export interface RaisedAlerts {
  /** Takes (and forgets) the alerts raised since the last call. */
  take(): Alert[];
  publish(alerts: readonly Alert[]): void;
}

export function alertSink(alerts: RaisedAlerts): Sink {
  return {
    name: 'alerts',
    role: 'follower',
    write: () => {
      const raised = alerts.take();
      if (raised.length > 0) alerts.publish(raised);
    },
  };
}
