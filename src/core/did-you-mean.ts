// "Did you mean" suggestions: the name closest to a misspelt one, with one edit distance for the whole
// code base (configuration keys, rule and policy fields, filter field names).

/** Levenshtein distance between two strings (insertions, deletions and substitutions cost 1). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** How far a word may be from a name to be a likely typo of it: a third of its length, at least 2. */
export function typoDistance(word: string): number {
  return Math.max(2, Math.floor(word.length / 3));
}

/**
 * The name closest to `word` ignoring case, when within `maxDistance` edits (the first of equals wins);
 * for "did you mean" hints.
 */
export function closest(
  word: string,
  names: Iterable<string>,
  maxDistance = typoDistance(word),
): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestD = maxDistance + 1;
  for (const n of names) {
    const d = editDistance(lower, n.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best;
}
