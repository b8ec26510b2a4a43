/**
 * The static registry of fetchers: the YAML `type:` is the key, the value the unit's
 * default factory. No directory scanning: what is here is what exists.
 */
import type { Fetcher, UnitModule } from '../types.ts';
import * as imap from './imap.ts';
import * as maildir from './maildir.ts';
import * as pop3 from './pop3.ts';
import * as stdin from './stdin.ts';

export const fetchers = {
  stdin: stdin,
  maildir: maildir,
  pop3: pop3,
  imap: imap,
} satisfies Record<string, UnitModule<(options: never) => Fetcher>>;

export type FetcherType = keyof typeof fetchers;
