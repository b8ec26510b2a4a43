/**
 * The plain-text tables the commands print (`queue list`, `held list`): padded columns,
 * cells on one line, cut only with a marker, and no control character of a hostile header
 * reaching the operator's terminal.
 */

/** Control characters a hostile header could carry to the operator's terminal, as `?`. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '?');
}

/** `text` on one line, cut to `width` characters, ending in `…` when cut. */
export function cut(text: string, width: number | undefined): string {
  const flat = printable(text.replace(/\s+/g, ' ').trim());
  if (width === undefined || flat.length <= width) return flat;
  return `${flat.slice(0, width - 1)}…`;
}

/** Rows as padded columns two spaces apart; the last column is not padded. */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
