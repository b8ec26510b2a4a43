/** What a digest shows of each post: decoded Date/From/Subject/Message-ID and body text. */
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

export async function summarisePost(raw: Buffer): Promise<PostSummary> {
  const { simpleParser } = await loadMailparser();
  const parsed = await simpleParser(raw, { skipImageLinks: true }).catch(() => undefined);
  const header = (name: string) => {
    const value = parsed?.headers.get(name);
    return typeof value === 'string' ? value : '';
  };
  return {
    raw,
    date: parsed?.date ? parsed.date.toUTCString() : header('date'),
    from: parsed?.from?.text ?? '',
    subject: parsed?.subject ?? '(no subject)',
    messageId: parsed?.messageId ?? '',
    text: parsed?.text ?? '',
  };
}
