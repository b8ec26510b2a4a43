/**
 * Hard or soft: a hard bounce says the address is gone (user unknown, no such domain); a
 * soft one says it may work later or that the message, not the address, was refused
 * (mailbox full, too big, content or policy rejection). Soft bounces still count, for less,
 * so an address that refuses every post ends up on nomail too.
 */

export type BounceClass = 'hard' | 'soft';

const SOFT_WORDS =
  /\b(quota|mailbox (is )?full|over ?quota|insufficient (system )?storage|disk quota|too (big|large)|try again later|temporar(y|ily)|greylist|rate limit|deferred)\b/i;
const HARD_WORDS =
  /\b(user unknown|unknown user|no such (user|mailbox|address)|does not exist|not exist|recipient rejected|invalid (recipient|mailbox|address)|no mailbox|mailbox unavailable|account (is )?(disabled|closed)|no account|suppression list|address rejected|permanent error|undeliverable address)\b/i;

/**
 * Classifies by enhanced status (`5.1.1`), SMTP code (`550`) and the diagnostic wording.
 * A 4.x.x (or a `delayed` action) is soft; 5.2.2 (mailbox full), 5.3.4 (too big) and 5.7.x
 * (policy: a refusal of the message) are soft; other 5.x.x are hard.
 */
export function bounceClass(status: string, diagnostic = '', action = 'failed'): BounceClass {
  if (action === 'delayed') return 'soft';
  const enhanced = /^([245])\.(\d+)\.(\d+)$/.exec(status);
  if (enhanced) {
    const [, klass, subject, detail] = enhanced;
    if (klass === '4') return 'soft';
    if (klass === '5') {
      if (SOFT_WORDS.test(diagnostic)) return 'soft';
      if (subject === '2' && detail === '2') return 'soft';
      if (subject === '3' && detail === '4') return 'soft';
      if (subject === '7' && !HARD_WORDS.test(diagnostic)) return 'soft';
      return 'hard';
    }
  }
  const smtp = /\b([45])\d\d\b/.exec(diagnostic);
  if (SOFT_WORDS.test(diagnostic)) return 'soft';
  if (smtp?.[1] === '4') return 'soft';
  if (smtp?.[1] === '5' || HARD_WORDS.test(diagnostic)) return 'hard';
  return 'soft';
}
