// Failed-authentication limiting. Failures are counted per key (the API uses two: the client address and
// a hash of the credential presented); after `maxFailures` failures of one key within `windowMs`, further
// *failed* attempts under that key are answered "wait" until the oldest counted failure leaves the window.
// The limiter never decides about a valid credential: callers check the credential first and consult the
// limiter only when it failed, so a valid token or session always works, whoever else failed from the same
// address. A success clears nothing (otherwise any valid token would reset an address's count and let its
// holder keep guessing). Memory is bounded: at most `maxFailures` timestamps per key and `maxKeys` keys.

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly maxFailures: number,
    private readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (list.length === 0) this.failures.delete(key);
    else this.failures.set(key, list);
    return list;
  }

  /** Seconds until failed attempts under the key are answered again; 0 when they are now. */
  retryAfter(key: string, now = Date.now()): number {
    const list = this.recent(key, now);
    if (list.length < this.maxFailures) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.maxFailures]! + this.windowMs - now) / 1000));
  }

  /** Counts a failure under the key (only the newest `maxFailures` are kept: they decide the wait). */
  fail(key: string, now = Date.now()): void {
    const list = this.recent(key, now);
    list.push(now);
    if (list.length > this.maxFailures) list.splice(0, list.length - this.maxFailures);
    this.failures.delete(key);
    this.failures.set(key, list);
    // Bound memory under a flood of distinct keys: drop the stalest tenth (the map keeps the order in
    // which keys last failed).
    if (this.failures.size > this.maxKeys) {
      let drop = Math.max(1, Math.floor(this.maxKeys / 10));
      for (const k of this.failures.keys()) {
        if (drop-- <= 0) break;
        this.failures.delete(k);
      }
    }
  }

  /** How many keys have failures on record (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }
}
