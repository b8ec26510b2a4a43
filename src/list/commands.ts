/**
 * The mail commands a list's request address understands (subscribe, confirm, set nomail,
 * …): the vocabulary shared by the address roles (an address can imply a command, such as
 * LIST-join@), the router and the request handler that parses and carries them out.
 */

export type SetOption = 'digest' | 'plain' | 'nomail' | 'notmetoo' | 'mail';

export type Command =
  | { verb: 'subscribe'; address?: string; digest?: boolean; plain?: boolean }
  | { verb: 'unsubscribe'; address?: string }
  | { verb: 'help' }
  | { verb: 'confirm'; token: string }
  /** Moderation verbs on a token (handled by the token's kind, like confirm). */
  | { verb: 'approve' | 'reject' | 'discard'; token: string }
  | { verb: 'set'; option: SetOption; value: boolean };
