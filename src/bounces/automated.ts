/**
 * What kind of robot sent a mail that is not a bounce: a challenge-response system
 * (Boxtrapper, "please verify"), or an auto-reply (the shared RFC 3834 check in
 * src/notices, plus vacation subjects that carry no header at all). Check bounces first:
 * real bounces often say `Auto-Submitted: auto-replied` too.
 */
import { createListMail } from '../mail/list-mail.ts';
import { automationReason } from '../notices/automated.ts';

export type RobotKind = 'auto-reply' | 'challenge-response';

const AUTO_SUBJECT =
  /(auto(matic|matische)?[ -]?(reply|response|antwort|odpowied)|out of (the )?office|on vacation|away from (the|my) office|abwesenheit|absence|thank you for your (e-?mail|message)|automatyczna)/i;
const CHALLENGE_SUBJECT =
  /(please (confirm|verify)|verify your (e-?mail|address)|confirm (that )?you are (human|a person)|spam (block|filter) (verification|challenge)|boxtrapper|challenge)/i;

/** The kind of robot, or undefined for what looks like a person's mail. */
export function robotKind(raw: Buffer): RobotKind | undefined {
  const mail = createListMail(raw, { fetcher: 'bounce-check', id: '' });
  const header = mail.header;
  const subject = header.getDecoded('Subject') ?? '';
  if (
    header.has('X-Boxtrapper') ||
    header.has('X-ChallengeID') ||
    header.has('X-Challenge') ||
    CHALLENGE_SUBJECT.test(subject)
  )
    return 'challenge-response';
  if (automationReason(mail) !== undefined || AUTO_SUBJECT.test(subject)) return 'auto-reply';
  return undefined;
}
