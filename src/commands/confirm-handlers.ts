/**
 * `confirm TOKEN` (and `approve|reject|discard TOKEN`) dispatch on the pending token's
 * kind: membership kinds are handled in src/commands/membership.ts, moderation ('moderate')
 * by src/moderation. A handler gets the pending action and says what to tell whom; it must
 * be idempotent, since a crash may replay it before the token is consumed.
 */
import type { ListSettings } from '../list/settings.ts';
import type { Pending } from '../state/tokens.ts';
import type { ListMail } from '../types.ts';

export type TokenVerb = 'confirm' | 'approve' | 'reject' | 'discard';

export interface ConfirmContext {
  list: ListSettings;
  verb: TokenVerb;
  token: string;
  pending: Pending;
  /** The normal address of whoever sent the command. */
  requester: string;
  /** The command mail. */
  mail: ListMail;
  now: number;
}

/** A text mail to someone: the request's requester, a new member, the owners. */
export interface OutgoingText {
  to: string;
  subject: string;
  text: string;
  /** A confirmation request: its subject must survive (a reply confirms). */
  confirmation?: boolean;
}

export interface ConfirmOutcome {
  /** One line or paragraph for the requester's results. */
  result: string;
  /** Other mail to send (welcome, goodbye, approval requests). */
  messages?: OutgoingText[];
  /** Take the token out once the results are safely recorded. @default true */
  consume?: boolean;
  /** Posts to distribute as they are (a held post a moderator released), after the replies. */
  release?: ListMail[];
}

export interface ConfirmHandler {
  (context: ConfirmContext): Promise<ConfirmOutcome>;
  /**
   * After a crash the request's memo replays its replies without calling handlers: this
   * gives back what the handler released for that command mail, with the same keys, so
   * the journal still sends each post once.
   */
  replay?(list: ListSettings, mail: ListMail): Promise<ListMail[]>;
}

/** Handlers by token kind. */
export type ConfirmHandlers = Record<string, ConfirmHandler>;

/** Handlers registered by other parts (moderation): none built in here. */
export const confirmHandlers: ConfirmHandlers = {};
