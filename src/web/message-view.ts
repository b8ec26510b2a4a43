/**
 * A held post as a moderator sees it on the web: the decoded headers, the text of the post
 * and the list of its attachments — never its HTML (an HTML-only post is shown as the text
 * mailparser makes of it), so nothing from the mail runs in the page. Values are plain
 * strings for the views to escape; sizes are capped so a hostile post cannot blow up a page.
 */
import { simpleParser } from 'mailparser';

export interface MessageView {
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string;
  messageId: string;
  /** Every header line as received (unfolded, control characters shown), capped. */
  headerLines: Array<{ name: string; value: string }>;
  text: string;
  truncated: boolean;
  attachments: Array<{ filename: string; contentType: string; size: number }>;
}

const MAX_TEXT = 200_000;
const MAX_HEADERS = 200;
const MAX_HEADER = 2_000;

/** Control characters (CR, LF, NUL, ESC…) as visible escapes. */
export function visible(text: string): string {
  return text.replace(
    /[\x00-\x08\x0b-\x1f\x7f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

function oneLine(text: string | undefined, max = MAX_HEADER): string {
  return visible((text ?? '').replace(/\r?\n[ \t]*/g, ' ')).slice(0, max);
}

function addressText(value: unknown): string {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.map((a) => (a as { text?: string }).text ?? '').join(', ');
}

export async function viewMessage(raw: Buffer): Promise<MessageView> {
  const parsed = await simpleParser(raw, {
    skipImageLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
    maxHtmlLengthToParse: 2_000_000,
  });
  const text = parsed.text ?? '';
  const headerLines = parsed.headerLines.slice(0, MAX_HEADERS).map((h) => {
    const colon = h.line.indexOf(':');
    return {
      name: oneLine(colon > 0 ? h.line.slice(0, colon) : h.key, 100),
      value: oneLine(colon > 0 ? h.line.slice(colon + 1).trim() : h.line),
    };
  });
  return {
    subject: oneLine(parsed.subject),
    from: oneLine(addressText(parsed.from)),
    to: oneLine(addressText(parsed.to)),
    cc: oneLine(addressText(parsed.cc)),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : '',
    messageId: oneLine(parsed.messageId),
    headerLines,
    text: visible(text.slice(0, MAX_TEXT).replace(/\r\n?/g, '\n')),
    truncated: text.length > MAX_TEXT,
    attachments: parsed.attachments.map((a) => ({
      filename: oneLine(a.filename ?? '(no name)', 300),
      contentType: oneLine(a.contentType, 200),
      size: a.size,
    })),
  };
}
