// Keeps a store's digest chain signed and its digest file up to date while the store is open for
// writing: at open, the records the file lacks (a crash between commit and append) are appended and an
// unsigned tail is signed; then every committed record is appended to the file as it comes, the chain is
// signed every `signIntervalMs` when it grew, at once after a prune (so that pruning is never unsigned),
// and at close. The store writes the records itself (Store.integrity()); this only signs and copies them.
import {
  signMessage,
  type DigestEntry,
  type DigestRecord,
  type IntegrityStorage,
} from '../store/integrity.js';
import type { Store } from '../store/store.js';
import { DigestFile, lineOf } from './digest-file.js';
import type { SignedThrough } from './verify.js';
import { checkSigner, type Signer } from './signer.js';

export interface KeeperOptions {
  signer: Signer;
  /** The digest file; none when undefined. */
  digestsFile?: string;
  /** How often the chain is signed when it grew (default one minute). */
  signIntervalMs?: number;
  /** Told of failures that do not stop the writer (a signature or a file append that failed). */
  onError?: (message: string, err: unknown) => void;
  now?: () => number;
}

export const DEFAULT_SIGN_INTERVAL_MS = 60_000;

export class IntegrityKeeper {
  private timer: NodeJS.Timeout | undefined;
  /** Sign operations run one at a time. */
  private signing: Promise<void> = Promise.resolve();
  /** The last record of the chain, as committed. */
  private head: DigestRecord | undefined;
  /** The last record of the chain that is not a signature. */
  private lastData = 0;
  /** The last record a signature covers. */
  private signedThrough = 0;
  private closed = false;

  private constructor(
    private readonly integrity: IntegrityStorage,
    private readonly opts: KeeperOptions,
    private readonly file: DigestFile | undefined,
  ) {}

  /** Starts keeping the store's chain; throws when the signer or the digest file cannot be used. */
  static async open(store: Store, opts: KeeperOptions): Promise<IntegrityKeeper> {
    await checkSigner(opts.signer);
    const integrity = await store.integrity();
    const file = opts.digestsFile ? DigestFile.open(opts.digestsFile) : undefined;
    const keeper = new IntegrityKeeper(integrity, opts, file);
    try {
      keeper.head = await integrity.head();
      keeper.startFrom(keeper.head);
      if (file) await keeper.catchUp(file);
      integrity.onRecord((r, entries) => keeper.committed(r, entries));
      if (keeper.unsigned()) await keeper.signNow();
    } catch (err) {
      integrity.onRecord(undefined);
      file?.close();
      throw err;
    }
    const interval = opts.signIntervalMs ?? DEFAULT_SIGN_INTERVAL_MS;
    keeper.timer = setInterval(() => {
      if (keeper.unsigned()) void keeper.signNow().catch(() => undefined);
    }, interval);
    keeper.timer.unref();
    return keeper;
  }

  /**
   * Whether the chain has records no signature covers. A signature can be committed after a record it
   * does not cover (a write under way while it was made), so a signature at the head is not enough.
   */
  unsigned(): boolean {
    return this.lastData > this.signedThrough;
  }

  /** What is signed, from the chain's head at open (when it is a signature, the record before it may not be). */
  private startFrom(head: DigestRecord | undefined): void {
    if (!head) return;
    if (head.kind === 'sign') this.lastData = head.seq - 1;
    this.noteRecord(head);
  }

  private noteRecord(r: DigestRecord): void {
    if (r.kind === 'sign') this.signedThrough = Math.max(this.signedThrough, r.signedSeq);
    else this.lastData = Math.max(this.lastData, r.seq);
  }

  /**
   * Appends to the file the records of this writer it lacks. A file that ends on a record the store does
   * not hold as it is (another store's file, or one edited) is left as it is: verification reports it.
   */
  private async catchUp(file: DigestFile): Promise<void> {
    const last = file.last;
    const writer = this.integrity.writer;
    if (last && last.writer !== writer) return this.fail(`${file.file} holds another writer's records`);
    const after = last?.seq ?? 0;
    const missing: DigestRecord[] = [];
    let agrees = last === undefined;
    for await (const r of this.integrity.records()) {
      if (r.writer !== writer) continue;
      if (last && r.seq === last.seq) agrees = r.chain === last.chain;
      if (r.seq > after) missing.push(r);
    }
    if (!agrees)
      return this.fail(
        `${file.file} ends on record ${after}, which the store holds otherwise; nothing appended`,
      );
    if (missing.length === 0) return;
    // In pieces, so that a long catch-up does not build one huge string.
    for (let i = 0; i < missing.length; i += 100) {
      file.append(missing.slice(i, i + 100).map((r) => lineOf(r)));
    }
  }

  private fail(message: string, err?: unknown): void {
    this.opts.onError?.(message, err);
  }

  private committed(record: DigestRecord, entries: readonly DigestEntry[] | undefined): void {
    this.head = record;
    this.noteRecord(record);
    if (this.file) {
      try {
        this.file.append([lineOf(record, entries)]);
      } catch (err) {
        this.fail(`digest file: ${(err as Error).message}`, err);
      }
    }
    // A prune is signed at once: what retention removed is never left unsigned for long.
    if (record.kind === 'prune') void this.signNow().catch(() => undefined);
  }

  /**
   * Signs the chain's head now, when a record is not covered by a signature. Resolves with the record
   * the chain is signed through: records committed after it (a write already under way included) are
   * for the next signature.
   */
  signNow(): Promise<SignedThrough> {
    const run = this.signing.then(async (): Promise<SignedThrough> => {
      const head = this.head;
      const through = { writer: this.integrity.writer, seq: head?.seq ?? 0 };
      if (!head || !this.unsigned()) return through;
      const at = (this.opts.now?.() ?? Date.now()) * 1000;
      const message = Buffer.from(signMessage(head.writer, head.seq, head.chain, at));
      try {
        const signature = await this.opts.signer.sign(message);
        await this.integrity.appendSign({
          kind: 'sign',
          signedSeq: head.seq,
          signedChain: head.chain,
          signedAt: at,
          keyId: this.opts.signer.keyId,
          signature: signature.toString('base64'),
        });
      } catch (err) {
        this.fail(`signing the digest chain failed: ${(err as Error).message}`, err);
        throw err;
      }
      return through;
    });
    this.signing = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Signs what is unsigned and stops; call before the store is closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    try {
      if (this.unsigned()) await this.signNow();
      else await this.signing;
    } finally {
      this.integrity.onRecord(undefined);
      this.file?.close();
    }
  }
}
