/**
 * Hard or soft. A hard bounce says the address is gone (user unknown, mailbox disabled, no
 * such domain, relaying refused for it); a soft one says it may work later, or that the
 * message rather than the address was refused (mailbox full, too big, spam or policy).
 * Soft bounces still count, for less, so an address that refuses every post ends up on
 * nomail too; a delay warning counts nothing (score.ts).
 *
 * The enhanced status code decides first: 4.x.x soft; 5.1.x and 5.2.1 hard, but 5.1.7 and
 * 5.1.8 (the sender's address) soft; 5.2.2 (full), 5.2.3 and 5.3.4 (too big) soft; 5.4.x
 * (network and routing: no answer, a loop, congestion) soft but 5.4.4 (no route: no such
 * domain) hard; 5.7.x, 5.7.0 included, is policy (spam, DMARC, a blocked sender: the
 * member's server refused this message, not the member) and counts soft — each of these
 * hard after all when its text says the mailbox does not exist (servers that answer
 * "5.7.1 No such user"); other 5.x.x hard. A code that names nothing (x.0.0, or subjects
 * outside RFC 3463 like 5.9.8) leaves the choice to the text, as does no code at all: what
 * the sending side did wrong (authentication, its reputation, a quota), then the wording
 * of a dead address, then of a full or refusing one, then the SMTP reply code, then whether
 * the notice said permanent. The words are in English and in the languages notices come
 * in (Chinese, Japanese, Russian, German, French, Spanish, Portuguese, Italian, Polish).
 */

export type BounceClass = 'hard' | 'soft';

/** Wording of an address that does not exist (several languages; checked first). */
const HARD_WORDS =
  /(user ?unknown|unknown (user|recipient|address|local)|no such (user|mailbox|address|recipient|account|domain|person)|does ?n[o']t exist|doesn't have an? [\w.-]+ account|not exist|non[- ]?existent|is not a known user|not a valid (user|recipient|mailbox|address)|(invalid|bad|unknown)[ _-]?(recipient|mailbox|address|user|userid|final delivery)|no mail ?-?box|mail ?-?box (is )?(not found|unavailable|does not)|mail-box not found|mailbox not available|user not (found|known|listed)|not listed in|account (is |has been )?(disabled|closed|discontinued|deactivated|inactive|suspended|expired|removed|terminated)|has been disabled|deactivated mailbox|not an active address|no longer (on|available|valid|active|exists?)|no account by that name|no mailbox here|addressee unknown|recipient rejected|address rejected|recipient address rejected: user|relay(ing)? (access )?(denied|not permitted)|not a relay|as a relay|isn't in my list of allowed rcpthosts|not our customer|host (not found|unknown)|unknown host|domain (not found|does not exist)|name service error|name or service not known|no final (email )?delivery point|could not find a gateway|wasn't found at|not found in directory|nie istnieje|n'existe pas|existiert nicht|gibt es nicht|unbekannt|inconnu|no existe|desconocido|não existe|nao existe|desconhecido|inesistente|sconosciuto|ne sushhestvuet|не существует|нет такого|не найден|неизвестн|不存在|无此用户|無此用戶|没有这个用户|存在しません|存在しない|宛先不明|not found)/i;
/** Wording of a refusal of the message, a full mailbox, or a passing trouble. */
const SOFT_WORDS =
  /(quota|mail ?(box|folder) (is )?full|is full|full mailbox|over ?quota|exceed|disk space|insufficient (system )?storage|storage space|size limit|too (big|large|long)|message size|zuviele|spam|junk|\bube\b|blacklist|blocklist|block(ed|ing)|policy|dmarc|\bspf\b|reputation|virus|content (filter|rejected)|not accepting mail|not permitted to send|looping|loop detected|too many hops|try (again )?later|temporar|greylist|rate limit|too many (connections|messages|recipients)|timed? ?out|time expired|not (been )?collected|connection (refused|failed)|no answer|unreachable|not delivered within|attempts? (to deliver )?(over|failed)|failed \d+ attempts|requires confirmation|processing error|command died|avpcheck|resend|hosts? (have|has) been failing|retry time|header error|(no|missing|invalid|bad|malformed|duplicate) [\w-]+ (field|header)|\breject(ed|s)?\b|\brefused\b|\bdenied\b|\bvoll\b|plein|lleno|cheia|piena|pełn|переполнен|временн|отклонен|已满|空间不足|容量|一杯|暂时|稍后|拒绝|拒否|外部)/i;
/**
 * What the sending side did wrong (no authentication, its address or IP refused, its
 * reputation, its own quota): never the member's address, whatever else the text says.
 */
const SENDER_SIDE =
  /(without authentication|authentication (is )?required|smtp auth(entication)?\b|turn on (smtp )?auth|must (authenticate|use smtp auth)|auth(entication)? (capability|failed)|does not advertise auth|sender (address )?(rejected|refused|denied|blocked|not allowed)|(rejected|refused|blocked|denied) sender|sending (ip|host|server)|(your|sender'?s?|client) ip|\bip (address )?(blocked|banned|listed|not allowed)|\bdmarc\b|\bspf\b|\bdkim\b|reputation|block ?list(ed)?|black ?list(ed)?|\bspamhaus\b|\brbl\b|(daily|hourly|sending|relay) (quota|limit)|send mail as)/i;

/** The enhanced status code (`5.1.1`) in a text, or ''; never a piece of an IP address. */
export function enhancedStatus(text: string): string {
  const m = /(^|[^\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)/.exec(text);
  return m ? `${m[2]}.${m[3]}.${m[4]}` : '';
}

/** The three-digit SMTP reply code in a text (`550`), or ''; never a piece of a number. */
export function smtpCode(text: string): string {
  const m = /(^|[^\d.#:=\w-])([245][0-5]\d)(?=[\s\-:;,.)\]"]|$)(?!\.\d)/.exec(text);
  return m ? m[2]! : '';
}

/**
 * True when a status names a specific condition: a subject of RFC 3463 and a detail; an
 * "other" detail (5.3.0, 5.7.0) or an unknown subject (5.9.8) leaves the choice to the text.
 */
function specific(status: string): boolean {
  const [, subject, detail] = status.split('.');
  return Number(subject) >= 1 && Number(subject) <= 7 && detail !== '0';
}

/** True when a text says anything about why (a code, or words of either class). */
export function hasSignal(text: string): boolean {
  return (
    HARD_WORDS.test(text) ||
    SOFT_WORDS.test(text) ||
    smtpCode(text) !== '' ||
    enhancedStatus(text) !== ''
  );
}

/** The class the wording and reply code give, when no specific status decides. */
export function classFromText(diagnostic: string, permanent?: boolean): BounceClass {
  if (SENDER_SIDE.test(diagnostic)) return 'soft';
  if (HARD_WORDS.test(diagnostic)) return 'hard';
  if (SOFT_WORDS.test(diagnostic)) return 'soft';
  const code = smtpCode(diagnostic);
  if (code.startsWith('4')) return 'soft';
  if (code.startsWith('5')) return 'hard';
  return permanent === false ? 'soft' : 'hard';
}

/**
 * Classifies one failed recipient by its status (`5.1.1`, '' when none), the diagnostic
 * text and the action. `permanent` is what the notice as a whole said, when it said so.
 */
export function bounceClass(
  status: string,
  diagnostic = '',
  action = 'failed',
  permanent?: boolean,
): BounceClass {
  if (action === 'delayed') return 'soft';
  const code = enhancedStatus(status) || enhancedStatus(diagnostic);
  const chosen =
    code && !specific(code)
      ? enhancedStatus(diagnostic) || code
      : code || enhancedStatus(diagnostic);
  if (chosen.startsWith('4')) return 'soft';
  const [, subject, detail] = chosen.split('.');
  // Policy is policy whatever its detail: 5.7.0 too.
  if (subject === '7') return HARD_WORDS.test(diagnostic) ? 'hard' : 'soft';
  if (chosen && specific(chosen)) {
    if (subject === '1') return detail === '7' || detail === '8' ? 'soft' : 'hard';
    if (subject === '2')
      return detail === '1' ? 'hard' : detail === '0' ? classFromText(diagnostic) : 'soft';
    if (subject === '3' && detail === '4') return 'soft';
    if (subject === '4') return detail === '4' || HARD_WORDS.test(diagnostic) ? 'hard' : 'soft';
    return 'hard';
  }
  // A Status written as an SMTP code (`553 Exceeded maximum inbound message size`).
  const text = `${status} ${diagnostic}`;
  if (smtpCode(status).startsWith('4')) return 'soft';
  return classFromText(text, chosen.startsWith('5') ? true : permanent);
}
