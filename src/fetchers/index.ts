/**
 * The static registry of fetchers: the YAML `type:` is the key, the value the unit's
 * default factory. No directory scanning: what is here is what exists.
 */
import type { Fetcher } from '../types.ts';
import createImapFetcher from './imap.ts';
import createMaildirFetcher from './maildir.ts';
import createPop3Fetcher from './pop3.ts';
import createStdinFetcher from './stdin.ts';

export const fetchers = {
  stdin: createStdinFetcher,
  maildir: createMaildirFetcher,
  pop3: createPop3Fetcher,
  imap: createImapFetcher,
} satisfies Record<string, (options: never) => Fetcher>;

export type FetcherType = keyof typeof fetchers;
