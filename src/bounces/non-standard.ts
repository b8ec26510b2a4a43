/**
 * Bounces that are not RFC 3464 reports but plain text from a known MTA: qmail's "failure
 * notice", Exim's "Mail delivery failed" (with X-Failed-Recipients), old Sendmail's
 * "permanent fatal errors" and Postfix without DSN. Each parser takes the body text (up to
 * the copy of the original message) and returns the failed addresses with the reason.
 */
import { normalizeAddress } from '../mail/address.ts';

export interface TextBounce {
  address: string;
  diagnostic: string;
  /** The notice says it is permanent (qmail, Exim) or temporary. */
  permanent?: boolean;
  /** Which format recognised it. */
  format: 'qmail' | 'exim' | 'sendmail' | 'postfix' | 'x-failed-recipients';
}

const ORIGINAL_MARKERS =
  /^(--- Below this line is a copy of the message\.|-{2,} This is a copy of the message|-{2,} Original message follows|\s*----- Original message -----|\s*-----\s*Transcript of session follows)/im;

function beforeOriginal(body: string): string {
  const m = ORIGINAL_MARKERS.exec(body);
  return m ? body.slice(0, m.index) : body;
}

/** qmail: `<addr>:` on its own line, the reason on the next lines. */
export function parseQmail(body: string): TextBounce[] {
  if (!/This is the qmail-send program|I'm afraid I wasn't able to deliver/i.test(body)) return [];
  const text = beforeOriginal(body);
  const permanent = !/temporary|will keep trying/i.test(text);
  const out: TextBounce[] = [];
  const pattern = /^<([^<>\s]+@[^<>\s]+)>:\s*\r?\n((?:(?!<[^>]+>:).*(?:\r?\n|$))*)/gm;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    out.push({ address: m[1]!, diagnostic: m[2]!.trim(), permanent, format: 'qmail' });
  }
  return out;
}

/** Exim: addresses indented by two blanks after "The following address(es) failed:". */
export function parseExim(body: string, failedHeader?: string): TextBounce[] {
  if (!/created automatically by mail delivery software/i.test(body)) return [];
  const text = beforeOriginal(body);
  const permanent = /permanent error/i.test(text)
    ? true
    : /temporary|delayed/i.test(text)
      ? false
      : undefined;
  const out: TextBounce[] = [];
  const start = /following address(?:\(es\))? failed:\s*\r?\n/i.exec(text);
  if (start) {
    const lines = text.slice(start.index + start[0].length).split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const m = /^ {2}(\S+@\S+?)(?:\s|$)/.exec(lines[i]!);
      if (!m) continue;
      const reason: string[] = [];
      for (let j = i + 1; j < lines.length && /^ {3,}\S/.test(lines[j]!); j++)
        reason.push(lines[j]!.trim());
      out.push({
        address: m[1]!.replace(/[<>:]/g, ''),
        diagnostic: reason.join(' '),
        permanent,
        format: 'exim',
      });
    }
  }
  if (out.length === 0 && failedHeader) {
    for (const address of failedHeader.split(/[,\s]+/).filter((a) => a.includes('@'))) {
      out.push({ address, diagnostic: '', permanent, format: 'exim' });
    }
  }
  return out;
}

/** Sendmail (pre-DSN) and Postfix without a report: `<addr>: reason` or `addr (reason)` lists. */
export function parseSendmailLike(body: string): TextBounce[] {
  const text = beforeOriginal(body);
  const sendmail =
    /-{3,}\s*The following addresses had permanent fatal errors\s*-{3,}\r?\n([\s\S]*?)(?:\r?\n\s*\r?\n|$)/i.exec(
      text,
    );
  if (sendmail) {
    return [...sendmail[1]!.matchAll(/<?([^\s<>()]+@[^\s<>()]+)>?\s*(?:\((.*)\))?/g)].map((m) => ({
      address: m[1]!,
      diagnostic: m[2] ?? '',
      permanent: true,
      format: 'sendmail' as const,
    }));
  }
  if (/I'm sorry to have to inform you that your message could not/i.test(text)) {
    return [...text.matchAll(/^<([^<>\s]+@[^<>\s]+)>:\s*(.*)$/gm)].map((m) => ({
      address: m[1]!,
      diagnostic: m[2]!,
      format: 'postfix' as const,
    }));
  }
  return [];
}

/** Every text format tried in turn; addresses that do not parse are dropped. */
export function parseTextBounce(body: string, failedHeader?: string): TextBounce[] {
  for (const found of [parseQmail(body), parseExim(body, failedHeader), parseSendmailLike(body)]) {
    const valid = found.filter((b) => normalizeAddress(b.address) !== '');
    if (valid.length > 0) return valid;
  }
  if (failedHeader) {
    return failedHeader
      .split(/[,\s]+/)
      .filter((a) => normalizeAddress(a) !== '')
      .map((address) => ({ address, diagnostic: '', format: 'x-failed-recipients' as const }));
  }
  return [];
}
