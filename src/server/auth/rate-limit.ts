// Failed-login limiting per client address: after `maxFailures` failures within `windowMs`, further
// attempts from that address are refused until the oldest failure leaves the window.

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
  ) {}

  private recent(address: string, now: number): number[] {
    const list = (this.failures.get(address) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(address);
    else this.failures.set(address, list);
    return list;
  }

  /** Seconds until the address may try again; 0 when it may try now. */
  retryAfter(address: string, now = Date.now()): number {
    const list = this.recent(address, now);
    if (list.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.maxFailures]! + this.windowMs - now) / 1000));
  }

  fail(address: string, now = Date.now()): void {
    const list = this.recent(address, now);
    list.push(now);
    this.failures.set(address, list);
    // Bound memory under a flood of distinct addresses: drop the stalest entries.
    if (this.failures.size > 100_000) {
      for (const k of [...this.failures.keys()].slice(0, 10_000)) this.failures.delete(k);
    }
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
