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
