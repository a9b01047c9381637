// Finding silences in bucketed counts, without the store: a run of empty buckets in a stream is a silence
// when the stream's rate around it says events were due (the rate of the quieter side times the run's
// length reaches `minExpected` missing events, so a quiet night with a low overall rate is no silence)
// and the stream is not bursty there (the share of empty buckets around the run, raised to the run's
// length and multiplied by the number of buckets looked at, stays below `falseAlarms`: over months of
// buckets a run must be longer than over a day to stand out). The silences of one cluster's streams are then merged into gaps, and
// each gap is rated by which streams fell silent and which went on.

export interface SilenceOptions {
  /** Buckets looked at on each side of a run to learn the stream's rate there. */
  window: number;
  /** Fewest events the run must have been expected to hold. */
  minExpected: number;
  /**
   * Most silences expected by chance over the whole series: the share of empty buckets around a run
   * (on the sparser side) raised to the run's length, times the number of buckets, must stay below it.
   */
  falseAlarms: number;
}

export const DEFAULT_SILENCE: SilenceOptions = { window: 60, minExpected: 14, falseAlarms: 0.01 };

/** A run of empty buckets, [from, to) as bucket indexes. */
export interface Silence {
  from: number;
  to: number;
  /** Events the stream's rate says were due in the run. */
  expected: number;
  /** True when the run reaches the end of the series (the stream has not come back). */
  open: boolean;
}

interface Side {
  mean: number;
  zeroShare: number;
  buckets: number;
}

function side(counts: ArrayLike<number>, from: number, to: number): Side {
  let sum = 0;
  let zeros = 0;
  for (let i = from; i < to; i++) {
    sum += counts[i]!;
    if (counts[i] === 0) zeros++;
  }
  const buckets = to - from;
  return buckets > 0
    ? { mean: sum / buckets, zeroShare: zeros / buckets, buckets }
    : { mean: 0, zeroShare: 1, buckets: 0 };
}

/**
 * The silences of one stream. A run at the start of the series is never one (the stream may simply begin
 * there). A run at the end is reported as open only when `openAllowed` says the trail went on elsewhere
 * over at least part of it (another cluster kept sending).
 */
export function silencesOf(
  counts: ArrayLike<number>,
  opts: SilenceOptions = DEFAULT_SILENCE,
  openAllowed: (from: number, to: number) => boolean = () => false,
): Silence[] {
  const n = counts.length;
  const out: Silence[] = [];
  let i = 0;
  while (i < n && counts[i] === 0) i++; // before the stream's first event
  while (i < n) {
    if (counts[i] !== 0) {
      i++;
      continue;
    }
    const from = i;
    while (i < n && counts[i] === 0) i++;
    const to = i;
    const len = to - from;
    const before = side(counts, Math.max(0, from - opts.window), from);
    const open = to === n;
    const after = open ? undefined : side(counts, to, Math.min(n, to + opts.window));
    const rate = after ? Math.min(before.mean, after.mean) : before.mean;
    // The share of empty buckets on the quieter side: a stream that is sparse on either side (the night
    // before the morning) must be silent for longer to count.
    const zeroShare = after ? Math.max(before.zeroShare, after.zeroShare) : before.zeroShare;
    const expected = rate * len;
    if (expected < opts.minExpected) continue;
    if (Math.pow(zeroShare, len) * n > opts.falseAlarms) continue;
    if (open && !openAllowed(from, to)) continue;
    out.push({ from, to, expected, open });
  }
  return out;
}

/** One stream of one cluster, bucketed. */
export interface Series {
  name: string;
  heartbeat: boolean;
  counts: ArrayLike<number>;
}

/** A gap in one cluster's trail, in buckets, before its bounds are read from the store. */
export interface BucketGap {
  from: number;
  to: number;
  open: boolean;
  /** Streams with no event over the gap that were due to have some. */
  silent: string[];
  /** Streams that were due to have events and had some. */
  goingOn: string[];
  /** Events the silent streams were expected to hold. */
  expectedMissing: number;
  /** 0..1: how sure the gap is a hole in the trail rather than the cluster's own quiet. */
  confidence: number;
}

function sum(counts: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += counts[i]!;
  return s;
}

/**
 * The confidence of a gap: every stream that was due fell silent (two or more: high; one heartbeat:
 * medium; only the overall rate: medium-low), or only some did while others went on (low: a policy
 * change, or nodes going away, explain that as well as a hole does).
 */
export function confidenceOf(silent: readonly Series[], goingOn: readonly Series[]): number {
  if (silent.length === 0) return 0;
  if (goingOn.length > 0) return silent.some((s) => !s.heartbeat) ? 0.4 : 0.25;
  if (silent.length >= 2) return silent.length >= 3 ? 0.95 : 0.9;
  return silent[0]!.heartbeat ? 0.6 : 0.5;
}

/** Merges the silences of a cluster's streams into gaps, each with the streams silent and going on. */
export function gapsOf(
  series: readonly Series[],
  opts: SilenceOptions = DEFAULT_SILENCE,
  openAllowed: (from: number, to: number) => boolean = () => false,
): BucketGap[] {
  const runs: Silence[] = [];
  for (const s of series) runs.push(...silencesOf(s.counts, opts, openAllowed));
  runs.sort((a, b) => a.from - b.from || b.to - a.to);
  const merged: { from: number; to: number; open: boolean }[] = [];
  for (const r of runs) {
    const last = merged[merged.length - 1];
    if (last && r.from <= last.to) {
      last.to = Math.max(last.to, r.to);
      last.open ||= r.open;
    } else merged.push({ from: r.from, to: r.to, open: r.open });
  }
  const out: BucketGap[] = [];
  for (const m of merged) {
    const len = m.to - m.from;
    const silent: Series[] = [];
    const goingOn: Series[] = [];
    let expectedMissing = 0;
    for (const s of series) {
      const before = side(s.counts, Math.max(0, m.from - opts.window), m.from);
      const after = m.open ? undefined : side(s.counts, m.to, Math.min(s.counts.length, m.to + opts.window));
      const rate = after ? Math.min(before.mean, after.mean) : before.mean;
      if (rate * len < opts.minExpected) continue; // not due to show anything over this span
      if (sum(s.counts, m.from, m.to) === 0) {
        silent.push(s);
        expectedMissing += rate * len;
      } else goingOn.push(s);
    }
    if (silent.length === 0) continue;
    out.push({
      ...m,
      silent: silent.map((s) => s.name),
      goingOn: goingOn.map((s) => s.name),
      expectedMissing: Math.round(expectedMissing),
      confidence: confidenceOf(silent, goingOn),
    });
  }
  return out;
}
