/**
 * Is this mail from a robot that is not a bounce (vacation reply, challenge-response)?
 * A tiny local check (RFC 3834 plus the usual headers and subjects); to be replaced by the
 * shared `isAutomated` from src/notices once it lands.
 */
import type { HeaderBlock } from '../mail/header-block.ts';

export type RobotKind = 'auto-reply' | 'challenge-response' | 'bulk';

const AUTO_SUBJECT =
  /(auto(matic|matische)?[ -]?(reply|response|antwort|odpowied)|out of (the )?office|on vacation|away from (the|my) office|abwesenheit|absence|thank you for your (e-?mail|message)|automatyczna)/i;
const CHALLENGE_SUBJECT =
  /(please (confirm|verify)|verify your (e-?mail|address)|confirm (that )?you are (human|a person)|spam (block|filter) (verification|challenge)|boxtrapper|challenge)/i;

/** The kind of robot the header shows, or undefined for a person (or a bounce: check that first). */
export function robotKind(header: HeaderBlock): RobotKind | undefined {
  const subject = header.getDecoded('Subject') ?? '';
  if (
    header.has('X-Boxtrapper') ||
    header.has('X-ChallengeID') ||
    header.has('X-Challenge') ||
    /^ask$/i.test(header.get('X-ASK-Info') ?? '') ||
    CHALLENGE_SUBJECT.test(subject)
  )
    return 'challenge-response';
  const autoSubmitted = (header.get('Auto-Submitted') ?? 'no').trim().toLowerCase();
  if (autoSubmitted !== '' && !autoSubmitted.startsWith('no')) return 'auto-reply';
  if (header.has('X-Autoreply') || header.has('X-Autorespond') || AUTO_SUBJECT.test(subject))
    return 'auto-reply';
  const precedence = (header.get('Precedence') ?? '').trim().toLowerCase();
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return 'bulk';
  return undefined;
}
