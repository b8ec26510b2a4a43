/**
 * The mboxrd format (what mutt, procmail and mail(1) read): a `From ` line, LF line ends,
 * `>*From ` lines in the body quoted with one more `>`. Used by the mbox distributor and the
 * archive export.
 */

/** asctime(3) date for the `From ` line, in UTC: `Mon Nov  3 20:45:25 2026`. */
function asctime(date: Date): string {
  const [weekday, day, month, year, time] = date.toUTCString().replace(',', '').split(' ');
  return `${weekday} ${month} ${String(Number(day)).padStart(2, ' ')} ${time} ${year}`;
}

/** One mboxrd record: `From ` line, LF line endings, quoted `>*From ` lines, blank line after. */
export function mboxRecord(bytes: Buffer, sender: string, date = new Date()): Buffer {
  const text = bytes.toString('latin1').replace(/\r\n/g, '\n');
  const quoted = text.replace(/^(>*From )/gm, '>$1');
  const body = quoted.endsWith('\n') ? quoted : `${quoted}\n`;
  const from = (sender || 'MAILER-DAEMON').replace(/\s/g, '');
  return Buffer.from(`From ${from} ${asctime(date)}\n${body}\n`, 'latin1');
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/**
 * True for a line that separates messages in an mbox: `From ` and, unless `strict` (our
 * own mboxrd files, where every other `From ` is quoted), a sender and a date ending in a
 * year, as mail(1), Mailman's pipermail (`From alice at example.org  Tue Nov  3 …`) and
 * mail readers write it.
 */
export function isFromLine(line: string, strict = false): boolean {
  if (!line.startsWith('From ')) return false;
  return strict || /^From \S.*\b\d{4}\s*$/.test(line.replace(/\r$/, ''));
}

/** The time of a From_ line's asctime date (taken as UTC), or undefined. */
export function fromLineDate(line: string): number | undefined {
  const m =
    /\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(\d{1,2}) +(\d{1,2}):(\d\d)(?::(\d\d))?(?: +\S+)? +(\d{4})\b/.exec(
      line,
    );
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]!) / 3;
  return Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5] ?? 0));
}

/** A record's message bytes: mboxrd quoting undone (`>From ` → `From `, one level). */
export function unquoteMboxrd(bytes: Buffer): Buffer {
  if (!bytes.includes('>From ')) return bytes;
  return Buffer.from(bytes.toString('latin1').replace(/^>(>*From )/gm, '$1'), 'latin1');
}
