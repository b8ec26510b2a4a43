/**
 * What a digest shows of each post: decoded Date/From/Subject/Message-ID, each on one line
 * (control characters that encoded words may carry become blanks), and the body text.
 */
import { loadMailparser } from '../mail/lazy.ts';

export interface PostSummary {
  raw: Buffer;
  date: string;
  from: string;
  subject: string;
  messageId: string;
  /** The text of the post (text/plain, or HTML made text); '' when there is none. */
  text: string;
}

/**
 * A header value as one line of a digest: an encoded subject may decode to CR, LF or
 * other control characters (`=?utf-8?q?a=0D=0AFrom:_forged?=`), which in a plain digest
 * would start lines of their own — a forged "From:" in the middle of an entry.
 */
export function oneLine(value: string): string {
  return value
    .replace(/[\x00-\x1f\x7f\u0085\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A post's text with every line end LF and no control characters but tabs. */
function cleanText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

export async function summarisePost(raw: Buffer): Promise<PostSummary> {
  const { simpleParser } = await loadMailparser();
  const parsed = await simpleParser(raw, { skipImageLinks: true }).catch(() => undefined);
  const header = (name: string) => {
    const value = parsed?.headers.get(name);
    return typeof value === 'string' ? value : '';
  };
  return {
    raw,
    date: oneLine(parsed?.date ? parsed.date.toUTCString() : header('date')),
    from: oneLine(parsed?.from?.text ?? ''),
    subject: oneLine(parsed?.subject ?? '') || '(no subject)',
    messageId: oneLine(parsed?.messageId ?? ''),
    text: cleanText(parsed?.text ?? ''),
  };
}
