// The server's verification of the store's tamper evidence: at start-up (after a short delay) and then
// every `integrity.verifyInterval` (0: never on its own), and whenever an admin asks
// (`POST /api/v1/integrity/verify`). One verification runs at a time: a request while one runs waits for
// that one. Each result is recorded in the store (IntegrityStorage.recordVerification) as `by: 'server'`,
// where `GET /api/v1/integrity` and the dashboard read it. Verification only reads the store, so it never
// holds ingest back; a failure to verify (the store unreachable) is logged and tried again at the next
// interval, and is not recorded as a verification.
import type { VerificationRecord, VerifyReport } from '../integrity/types.js';

export interface VerificationTaskOptions {
  /** Between two scheduled verifications, ms; 0 schedules none (requests still run one). */
  intervalMs: number;
  /** Before the first scheduled verification, ms (default: a minute, to let the server settle). */
  firstDelayMs?: number;
  /** Verifies the whole store. */
  verify: () => Promise<VerifyReport>;
  /** Keeps a verification's record (the store's IntegrityStorage). */
  record: (r: VerificationRecord) => Promise<void>;
  now?: () => number;
  onResult?: (r: VerificationRecord) => void;
  onError?: (err: unknown) => void;
}

/** A verification's record: the report with when it ran, how long it took, and whether it was clean. */
export function verificationRecord(report: VerifyReport, startMs: number, endMs: number): VerificationRecord {
  return {
    at: new Date(startMs).toISOString(),
    ok: report.findings.length === 0,
    durationMs: Math.max(0, Math.round(endMs - startMs)),
    by: 'server',
    verified: report.verified,
    findings: report.findings,
  };
}

export class VerificationTask {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<VerificationRecord> | undefined;
  private nextAt: number | undefined;
  private stopped = false;

  constructor(private readonly opts: VerificationTaskOptions) {}

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  /** Schedules the verifications (none when the interval is 0). */
  start(): void {
    if (this.opts.intervalMs > 0) this.schedule(this.opts.firstDelayMs ?? 60_000);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.nextAt = this.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run()
        .catch(() => undefined)
        .finally(() => this.schedule(this.opts.intervalMs));
    }, delayMs);
    this.timer.unref();
  }

  /** Whether a verification is running now. */
  get running(): boolean {
    return this.current !== undefined;
  }

  /** When the next scheduled verification starts (epoch ms), if one is scheduled. */
  get next(): number | undefined {
    return this.timer ? this.nextAt : undefined;
  }

  /** The interval between scheduled verifications, ms (0: none). */
  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  /**
   * Verifies now and records the result, or joins the verification already running. Rejects when the
   * store cannot be verified (nothing is recorded then).
   */
  run(): Promise<VerificationRecord> {
    this.current ??= (async () => {
      try {
        const start = this.now();
        const report = await this.opts.verify();
        const rec = verificationRecord(report, start, this.now());
        await this.opts.record(rec);
        this.opts.onResult?.(rec);
        return rec;
      } catch (err) {
        this.opts.onError?.(err);
        throw err;
      } finally {
        this.current = undefined;
      }
    })();
    return this.current;
  }

  /** Stops the schedule and waits for a verification in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current?.catch(() => undefined);
  }
}
