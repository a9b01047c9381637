// The one line splitter of the write path (the file reader of import and query --file, the live file
// source, the webhook's JSON lines): splits a growing byte stream into complete lines, remembering the
// byte offset just past the last complete line so that a reader can resume exactly there. A partial last
// line is held back until its newline arrives; a line longer than the maximum is skipped without being
// buffered whole and reported with its first bytes.
const NEWLINE = 0x0a;

/** The first `n` bytes of the pieces, as text (without copying more than that). */
function headOf(parts: readonly Buffer[], n: number): string {
  const out: Buffer[] = [];
  let len = 0;
  for (const p of parts) {
    if (len >= n) break;
    const take = p.subarray(0, n - len);
    out.push(take);
    len += take.length;
  }
  return Buffer.concat(out).toString('utf8');
}

export interface SplitResult {
  /** Complete lines, in order, with their 1-based line numbers. */
  lines: { text: string; line: number }[];
  /** Lines that were longer than the maximum: their line numbers, sizes and first bytes. */
  oversized: { line: number; bytes: number; head: string }[];
}

export class LineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  private skipping = 0;
  /** Offset just past the last complete (or skipped) line. */
  offset: number;
  /** Number of the last complete line. */
  line: number;

  constructor(
    startOffset: number,
    startLine: number,
    private readonly max: number,
    /** How many of its first bytes an oversized line is reported with. */
    private readonly headBytes = 256,
  ) {
    this.offset = startOffset;
    this.line = startLine;
  }

  /** Bytes read but not yet part of a complete line. */
  get pendingBytes(): number {
    return this.carryLen + this.skipping;
  }

  /** Where the next read continues (offset plus held-back bytes). */
  get readPosition(): number {
    return this.offset + this.carryLen + this.skipping;
  }

  push(chunk: Buffer): SplitResult {
    const res: SplitResult = { lines: [], oversized: [] };
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      this.line++;
      const len = nl - start;
      if (this.skipping > 0) {
        res.oversized.push({ line: this.line, bytes: this.skipping + len, head: '' });
        this.offset += this.skipping + len + 1;
        this.skipping = 0;
      } else if (this.carryLen + len > this.max) {
        const head = headOf([...this.carry, chunk.subarray(start, nl)], this.headBytes);
        res.oversized.push({ line: this.line, bytes: this.carryLen + len, head });
        this.offset += this.carryLen + len + 1;
        this.carry = [];
        this.carryLen = 0;
      } else if (this.carryLen > 0) {
        this.carry.push(chunk.subarray(start, nl));
        res.lines.push({ text: Buffer.concat(this.carry).toString('utf8'), line: this.line });
        this.offset += this.carryLen + len + 1;
        this.carry = [];
        this.carryLen = 0;
      } else {
        res.lines.push({ text: chunk.toString('utf8', start, nl), line: this.line });
        this.offset += len + 1;
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.skipping > 0) this.skipping += rest;
      else if (this.carryLen + rest > this.max) {
        this.skipping = this.carryLen + rest;
        this.carry = [];
        this.carryLen = 0;
      } else {
        this.carry.push(Buffer.from(chunk.subarray(start)));
        this.carryLen += rest;
      }
    }
    return res;
  }

  /** Ends the stream: a held-back partial line becomes a line of its own (it will never be completed). */
  finish(): SplitResult {
    const res: SplitResult = { lines: [], oversized: [] };
    if (this.skipping > 0) {
      this.line++;
      res.oversized.push({ line: this.line, bytes: this.skipping, head: '' });
      this.offset += this.skipping;
      this.skipping = 0;
    } else if (this.carryLen > 0) {
      this.line++;
      res.lines.push({ text: Buffer.concat(this.carry).toString('utf8'), line: this.line });
      this.offset += this.carryLen;
      this.carry = [];
      this.carryLen = 0;
    }
    return res;
  }

  /** Forgets held-back bytes (the file was truncated or replaced). */
  reset(offset: number, line: number): void {
    this.carry = [];
    this.carryLen = 0;
    this.skipping = 0;
    this.offset = offset;
    this.line = line;
  }
}
