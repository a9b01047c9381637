// A unified diff of two texts, line by line (longest common subsequence, three lines of context), as
// `diff -u` writes it. For RBAC objects, which are short; the table is quadratic in their lines.

/** A hunk's range as diff writes it: `start,length`, `start` alone for one line, `start-1,0` for none. */
const range = (start: number, length: number) =>
  length === 1 ? `${start}` : `${length === 0 ? start - 1 : start},${length}`;

export function unifiedDiff(before: string, after: string, from: string, to: string, context = 3): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a[a.length - 1] === '') a.pop();
  if (b[b.length - 1] === '') b.pop();
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const ops: { op: ' ' | '-' | '+'; text: string }[] = [];
  let i = 0;
  let j = 0;
  // Deletions before insertions, as diff writes them.
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ op: ' ', text: a[i++]! });
      j++;
    } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ op: '-', text: a[i++]! });
    else ops.push({ op: '+', text: b[j++]! });
  }
  const changed = ops.map((o, k) => (o.op !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  const out = [`--- ${from}`, `+++ ${to}`];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - context);
    let end = Math.min(ops.length, changed[k]! + context + 1);
    while (k + 1 < changed.length && changed[k + 1]! - context <= end)
      end = Math.min(ops.length, changed[++k]! + context + 1);
    k++;
    const hunk = ops.slice(start, end);
    // Starting line numbers (1-based) of the hunk in each text; 0 when a side has no lines in it.
    let aStart = 1;
    let bStart = 1;
    for (const o of ops.slice(0, start)) {
      if (o.op !== '+') aStart++;
      if (o.op !== '-') bStart++;
    }
    const aLen = hunk.filter((o) => o.op !== '+').length;
    const bLen = hunk.filter((o) => o.op !== '-').length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const o of hunk) out.push(`${o.op}${o.text}`);
  }
  return `${out.join('\n')}\n`;
}
