/**
 * A post's text split into what its author wrote and what they carried along: quoted lines
 * (`>`), the attribution line before a quote ("On … wrote:", "Am … schrieb", "Le … a écrit :",
 * "… skrev …:"), an Outlook "-----Original Message-----" block, and the signature after
 * "-- ". The search weighs the second part low, so a post is found by its own words first;
 * the pages fold it. Pure.
 */

export interface SplitText {
  /** The author's own lines. */
  own: string;
  /** Quotes, attributions and the signature. */
  quoted: string;
}

/** A line the text quotes: `>` (after blanks), or `|` as some readers quote. */
export function isQuoteLine(line: string): boolean {
  return /^[ \t]*(>|\|[ \t])/.test(line);
}

/** The start of a forwarded or Outlook-quoted original: everything after it is quoted. */
const ORIGINAL =
  /^[ \t]*(-{2,}[ \t]*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Oprindelig meddelelse)[ \t]*-{2,}|_{20,}[ \t]*$)/i;

/** The signature delimiter: "-- " (RFC 3676 §4.3), also without its blank. */
const SIGNATURE = /^--[ \t]?$/;

function blank(line: string): boolean {
  return line.trim() === '';
}

/**
 * The lines of the attribution before the quote starting at `quoteAt`: the paragraph just
 * above it (at most three lines, blank lines between allowed) when its last line ends with a
 * colon, as every mail reader writes it in every language.
 */
function attributionStart(lines: string[], quoteAt: number): number {
  let end = quoteAt - 1;
  while (end >= 0 && blank(lines[end]!)) end--;
  if (end < 0 || !/:[ \t]*$/.test(lines[end]!) || isQuoteLine(lines[end]!)) return quoteAt;
  let start = end;
  while (
    start > 0 &&
    end - start < 2 &&
    !blank(lines[start - 1]!) &&
    !isQuoteLine(lines[start - 1]!)
  )
    start--;
  // A paragraph longer than three lines is the author's prose ending in a colon, not an attribution.
  if (start > 0 && !blank(lines[start - 1]!) && !isQuoteLine(lines[start - 1]!)) return end;
  return start;
}

/** For each line, true when it is quoted (a quote, its attribution, a signature, an original). */
function quotedLines(lines: string[]): boolean[] {
  const quoted = new Array<boolean>(lines.length).fill(false);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (SIGNATURE.test(line) || ORIGINAL.test(line)) {
      quoted.fill(true, i);
      break;
    }
    if (!isQuoteLine(line)) continue;
    quoted[i] = true;
    if (i === 0 || !quoted[i - 1]) quoted.fill(true, attributionStart(lines, i), i);
  }
  return quoted;
}

/** Splits `text` (LF or CRLF) into the author's lines and the quoted ones. */
export function splitQuoted(text: string): SplitText {
  const lines = text.split(/\r?\n/);
  const quoted = quotedLines(lines);
  const own: string[] = [];
  const rest: string[] = [];
  lines.forEach((line, i) => {
    (quoted[i] ? rest : own).push(line);
  });
  return { own: own.join('\n').trim(), quoted: rest.join('\n').trim() };
}

export interface TextBlock {
  /** True for a run of quoted lines (what a page folds). */
  quoted: boolean;
  text: string;
}

/**
 * `text` as runs of own and quoted lines in their order (a page shows the own runs and
 * folds the quoted ones); blank lines join the run before them.
 */
export function quoteBlocks(text: string): TextBlock[] {
  const lines = text.split(/\r?\n/);
  const quoted = quotedLines(lines);
  const blocks: { quoted: boolean; lines: string[] }[] = [];
  lines.forEach((line, i) => {
    const last = blocks[blocks.length - 1];
    const q = blank(line) && last ? last.quoted : quoted[i]!;
    if (last && last.quoted === q) last.lines.push(line);
    else blocks.push({ quoted: q, lines: [line] });
  });
  return blocks
    .map((b) => ({ quoted: b.quoted, text: b.lines.join('\n').replace(/^\n+|\s+$/g, '') }))
    .filter((b) => b.text !== '');
}
