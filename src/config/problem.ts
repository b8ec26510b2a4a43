/**
 * A configuration problem as the operator reads it: where (file:line:col), which key, what
 * was expected, and how to fix it — `lists/red.yaml:7:3 posting: expected one of open |
 * members | moderated | announce, got 'member' (fix: did you mean 'members'?)`.
 */

export interface ConfigProblem {
  /** The file as the operator named it (relative to the working directory when inside it). */
  file: string;
  /** 1-based; 0 when the problem concerns the whole file. */
  line: number;
  col: number;
  /** The dotted key path (`pipeline.2.type`), or '' for the whole file. */
  key: string;
  /** What is wrong: expected … got …. */
  message: string;
  /** What to do about it. */
  fix?: string;
}

/** The one-line form: `file:line:col key: message (fix: …)`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const key = p.key ? ` ${p.key}:` : '';
  const fix = p.fix ? ` (fix: ${p.fix})` : '';
  return `${where}${key} ${p.message}${fix}`;
}

/** The key path as the operator writes it: `pipeline.2.type`. */
export function keyPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** A short, safe rendering of a YAML value for "got …". */
export function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string')
    return `'${value.length > 60 ? `${value.slice(0, 57)}...` : value}'`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${String(value)}`;
}

/** The closest candidate by edit distance, when it is close enough to be a typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(word.length / 3))
    ? best
    : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Problems in reading order: by file, then line and column. */
export function sortProblems(problems: ConfigProblem[]): void {
  problems.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col);
}
