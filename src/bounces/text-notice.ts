/**
 * Failed recipients read from the human-readable notice of a bounce that carries no
 * usable RFC 3464 report: qmail, Exim, old sendmail and Postfix, Exchange and Domino NDR
 * text, Yahoo, Gmail, GroupWise, SMTP32, MDaemon, and what providers write in other
 * languages. Rather than one parser per MTA, one reading of how they all lay a notice out:
 *
 * - the notice ends where the copy of the message begins (a marker line, or a header);
 * - a recipient stands alone on its line (`<a@b>:`, `  a@b`, `* a@b`, `a@b on <date>`),
 *   or opens a line with its reason (`<a@b>: host … said: 550 …`, `a@b - no such user`),
 *   or follows words that introduce one (`undeliverable to a@b`, `Error-for: a@b`,
 *   `Recipient: [SMTP:a@b]`, `Delivery failed 20 attempts: a@b`);
 * - its reason is the text after it, up to the next recipient (a bounded window);
 * - `(expanded from X)`, `(generated from X)`, `Originally addressed to X` name the
 *   address the list sent to, which becomes the recipient, the other its alias;
 * - addresses in lines that are headers, help text (postmaster, "contact") or the
 *   bounce's own sender and recipient are never recipients.
 */
import { mailboxAddress } from './dsn.ts';

export interface TextRecipient {
  /** The address the notice names (the alias source when it gives one), normal form. */
  address: string;
  /** Other addresses the same recipient was known by (the expanded or generated one). */
  aliases: string[];
  /** The reason text near the address (bounded). */
  diagnostic: string;
}

const DIAGNOSTIC_CAP = 600;
const MAX_RECIPIENTS = 100;
const ADDRESS = /<?([A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)>?/g;

/** Where the copy of the message (or its headers) starts in a notice. */
const COPY_MARKER =
  /^\s*(-+ ?)?(below this line is a copy|this is a copy of|original message follows|-+ ?original message|the (header|headers) of the original|header of the source mail|a copy of the (original )?message|copy of the message|returned message|undelivered message|your message reads|message removed|original message headers|the original message was|original message text)|^(return-path|received|message-id|x-[\w-]+|dkim-signature|mime-version):\s/i;
/** Lines whose addresses are never recipients: header-like fields, help and contact text. */
const NOT_A_RECIPIENT_LINE =
  /^\s*(from|to|cc|bcc|reply-to|sender|subject|date|delivered-to|envelope-to|in-reply-to|references|return-path|errors-to|message-id)\s*:|postmaster|mailer-daemon|contact|assistance|please send|send mail to|reply to|questions|help desk|envelope-from|sent by|sender address|^\s*by\s|\bfrom\s+<|return-path|instead|try (e-?mailing|sending|writing|mailing)|for example|e\.g\./i;
/** Local parts that are machinery, never a member who bounced. */
const ROBOT_LOCAL = /^(postmaster|mailer-daemon|mail-daemon|abuse|hostmaster|root|daemon|nobody)$/i;
/** Words right before an address that make it a recipient. */
const LEAD_IN =
  /(recipients?|address(es)?|addressed to|undeliverable ?(to|address)|delivered to|deliver (your message )?to|message to|mail to|mailbox|failed( \d+ attempts)?|error-for|userid|user|to|for|following|smtp|attempts|rcpt to|originally addressed to)\W{0,6}$/i;
/** Text right after an address that gives its reason (`a@b (user not found)`, `a@b - …`). */
const REASON_AFTER = /^\W{0,3}(\(|- |: |\.\.\.|is |has |does |was |could |account|mailbox)/i;
const ALIAS =
  /\((?:ultimately )?(?:generated|expanded) from:?\s*<?([^\s<>()]+@[^\s<>()]+?)>?\)|originally addressed to\s+<?([^\s<>()]+@[^\s<>()]+?)>?[).,]?(\s|$)/i;

interface Found {
  address: string;
  aliases: string[];
  line: number;
  /** Where the reason starts: line and column after the address. */
  col: number;
}

/** The notice's lines up to the copy of the message. */
export function noticeLines(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (out.length > 0 && COPY_MARKER.test(line)) break;
    out.push(line.length > 2000 ? line.slice(0, 2000) : line);
    if (out.length >= 2000) break;
  }
  return out;
}

function isRecipientOccurrence(line: string, start: number, end: number): boolean {
  const before = line.slice(0, start);
  const after = line.slice(end);
  // Alone on the line: bullets, quotes, a trailing colon or "on <date>" allowed.
  if (/^[\s*>•·"'[(-]*(smtp:|dda:smtp=)?$/i.test(before.slice(-40)) && before.length < 40) {
    if (/^["'\])]*\s*[:;,.]?\s*$/.test(after)) return true;
    if (/^["'\])]*\s*(on |[:;]|\(|- |\.\.\.|is |has |does |was |\[|<|\s{2,})/i.test(after))
      return true;
    if (/^["'\]]*\s*<[^>]*>\s*$/.test(after)) return true;
  }
  if (/(dda:(smtp=)?|smtp:)$/i.test(before)) return true;
  if (LEAD_IN.test(before.slice(-60))) return true;
  if (REASON_AFTER.test(after) && /^[\s*>"'<[(-]*$/.test(before)) return true;
  // "User mailbox exceeds allowed size: a@b", "User's mailbox is full: <a@b>".
  if (
    /:\s*$/.test(before) &&
    /^\W*$/.test(after) &&
    /(user|mailbox|recipient|account|deliver)/i.test(before)
  )
    return true;
  return false;
}

/** True when the line before `i` (blank lines skipped) introduces the sender ("sent by"). */
function sentByBefore(lines: readonly string[], i: number): boolean {
  for (let j = i - 1; j >= 0 && j >= i - 3; j--) {
    const text = lines[j]!.trim();
    if (text !== '') return /(sent by|message from|sender( was)?|from the sender):?$/i.test(text);
  }
  return false;
}

/** Addresses that a notice names as failed, with their aliases; ordered as found. */
function findRecipients(lines: readonly string[], exclude: ReadonlySet<string>): Found[] {
  const found: Found[] = [];
  let lastRecipientLine = -10;
  for (let i = 0; i < lines.length && found.length < MAX_RECIPIENTS; i++) {
    const line = lines[i]!;
    if (!line.includes('@')) continue;
    const alias = ALIAS.exec(line);
    if (alias) {
      const raw = alias[1] ?? alias[2] ?? '';
      const source = /\.$/.test(raw) || !/@[^.]+\./.test(raw) ? '' : mailboxAddress(raw);
      const previous = found[found.length - 1];
      if (source && previous && i - lastRecipientLine <= 2) {
        if (previous.address !== source) {
          previous.aliases.push(previous.address);
          previous.address = source;
        }
        continue;
      }
      if (source && !exclude.has(source)) {
        found.push({ address: source, aliases: [], line: i, col: line.length });
        lastRecipientLine = i;
        continue;
      }
    }
    if (NOT_A_RECIPIENT_LINE.test(line) || sentByBefore(lines, i)) continue;
    ADDRESS.lastIndex = 0;
    for (let m = ADDRESS.exec(line); m; m = ADDRESS.exec(line)) {
      // `'a@b'` quoted, `SMTP=a@b` (Exchange's X.400 form): the address inside.
      const text = m[1]!.replace(/^['`]+|['`]+$/g, '').replace(/^(smtp|rfc-?822)=/i, '');
      const address = mailboxAddress(text);
      if (!address || exclude.has(address) || ROBOT_LOCAL.test(address.split('@')[0]!)) continue;
      if (!isRecipientOccurrence(line, m.index, m.index + m[0].length)) continue;
      const known = found.find((f) => f.address === address || f.aliases.includes(address));
      if (known) continue;
      found.push({ address, aliases: [], line: i, col: m.index + m[0].length });
      lastRecipientLine = i;
    }
  }
  return found;
}

/** The reason text of each recipient: from it to the next one, bounded. */
function reasons(lines: readonly string[], found: readonly Found[]): string[] {
  return found.map((f, k) => {
    const next = found[k + 1];
    let text = lines[f.line]!;
    for (let i = f.line + 1; i < lines.length && text.length < DIAGNOSTIC_CAP; i++) {
      if (next && i >= next.line) break;
      text += ` ${lines[i]!.trim()}`;
    }
    return text.replace(/\s+/g, ' ').trim().slice(0, DIAGNOSTIC_CAP);
  });
}

/**
 * Recipients named by a notice's text (already cut at the copy of the message, see
 * noticeLines). `exclude`: addresses that are never recipients (the bounce's sender and
 * recipient, in normal form).
 */
export function textRecipients(
  lines: readonly string[],
  exclude: ReadonlySet<string>,
): TextRecipient[] {
  const found = findRecipients(lines, exclude);
  const why = reasons(lines, found);
  return found.map((f, k) => ({ address: f.address, aliases: f.aliases, diagnostic: why[k]! }));
}

/** Delay words in a notice or subject: the sender will try again. */
const WILL_RETRY =
  /(will (continue|keep) (trying|to try|to be attempted|to attempt)|delivery attempts will continue|will be retried|will retry|still being retried|not yet been delivered|has been postponed|has been delayed|delivery (is )?delayed|delayed \d+ (hours|days)|message delayed|delay(ed)? (mail|warning|notification)|\(delay\)|will try again)/i;
/** Words that say delivery has failed for good. */
const GAVE_UP =
  /(permanent(ly)?|given up|gave up|will not (try|be retried)|could not be delivered|couldn't be delivered|was not delivered|not be delivered|undeliverable|delivery (has )?failed|failed permanently|unable to deliver|wasn't able to deliver)/i;
const STRONG_RETRY =
  /(will (continue|keep) (trying|to try|to be attempted)|delivery attempts will continue|will be retried|still being retried)/i;

/** What a notice says about the future: 'retry' (a delay warning), 'failed', or ''. */
export function noticeOutlook(subject: string, notice: string): 'retry' | 'failed' | '' {
  const text = `${subject}\n${notice.slice(0, 6000)}`;
  if (/permanent(ly)?|given up|gave up/i.test(text)) return 'failed';
  if (STRONG_RETRY.test(text)) return 'retry';
  if (WILL_RETRY.test(text) && !GAVE_UP.test(notice.slice(0, 6000))) return 'retry';
  if (GAVE_UP.test(text)) return 'failed';
  return '';
}

/** Which family of MTA wrote a notice, for the log ('text' when none is recognised). */
export function noticeFormat(notice: string): string {
  const head = notice.slice(0, 4000);
  if (/qmail-send program|I'm afraid I wasn't able to deliver|\(#[45]\.\d\.\d\)/i.test(head))
    return 'qmail';
  if (/created automatically by mail delivery software/i.test(head)) return 'exim';
  if (/permanent fatal errors|transcript of session follows/i.test(head)) return 'sendmail';
  if (/this is the (\w+ )?postfix program|the mail system/i.test(head)) return 'postfix';
  if (
    /did not reach the following recipient|delivery has failed to these recipients|MSEXCH:/i.test(
      head,
    )
  )
    return 'exchange';
  return 'text';
}
