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

/** Splits `text` (LF or CRLF) into the author's lines and the quoted ones. */
export function splitQuoted(text: string): SplitText {
  const lines = text.split(/\r?\n/);
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
  const own: string[] = [];
  const rest: string[] = [];
  lines.forEach((line, i) => {
    (quoted[i] ? rest : own).push(line);
  });
  return { own: own.join('\n').trim(), quoted: rest.join('\n').trim() };
}
