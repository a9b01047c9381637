// What a forwarder hands to its destination and what the destination says back: a batch of records in
// the stored form (after policy and redaction, with the store's content hash), and per record whether
// it was delivered, should be tried again, or can never be delivered (dead letter).
import type { AuditEvent } from '../core/event.js';

/** One forwarded event: the cluster, the store's content hash, and the event (fields selected). */
export interface ForwardRecord {
  cluster: string;
  /** The store's content hash of the event as stored (src/store/columns.ts): a stable document ID. */
  hash: string;
  event: Partial<AuditEvent> & Record<string, unknown>;
}

/** The outcome of one send: the records (by index in the batch) to retry and those refused for good. */
export interface SendOutcome {
  retry: number[];
  dead: { index: number; error: string }[];
  /** A delay the destination asked for before the next try (Retry-After), in ms. */
  retryAfterMs?: number;
  /** Why the records in `retry` failed (for the log and the metrics). */
  retryError?: string;
}

export const DELIVERED: SendOutcome = { retry: [], dead: [] };

/** A destination client. `send` never throws for a failed delivery: it says what to retry instead. */
export interface Destination {
  send(batch: readonly ForwardRecord[]): Promise<SendOutcome>;
  close(): Promise<void>;
}

/** Every record of a batch to retry (a network error, a 5xx or a 429 for the whole request). */
export function retryAll(batch: readonly unknown[], error: string, retryAfterMs?: number): SendOutcome {
  return {
    retry: batch.map((_, i) => i),
    dead: [],
    retryError: error,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/** Every record of a batch refused for good (a 4xx other than 408 and 429). */
export function deadAll(batch: readonly unknown[], error: string): SendOutcome {
  return { retry: [], dead: batch.map((_, index) => ({ index, error })) };
}

/** Whether an HTTP status means "try again later": 408, 429 and every 5xx. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** The outcome of a whole-batch HTTP answer. */
export function outcomeOfStatus(
  batch: readonly unknown[],
  status: number,
  body: string,
  retryAfterMs?: number,
): SendOutcome {
  if (status >= 200 && status < 300) return DELIVERED;
  const error = `HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`;
  // 401 and 403 are kept for retrying: a credential fixed by the operator lets them through.
  if (retryableStatus(status) || status === 401 || status === 403)
    return retryAll(batch, error, retryAfterMs);
  return deadAll(batch, error);
}
