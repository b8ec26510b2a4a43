/**
 * The fetchers by YAML `type:`, each loaded only when a configuration names it (the
 * composition root plans with these, so `malist receive` does not load IMAP and POP3).
 * The same names as the eager registry in index.ts (a test holds them equal).
 */
import type { Fetcher, UnitLoader } from '../types.ts';

export const fetcherLoaders = {
  stdin: () => import('./stdin.ts'),
  maildir: () => import('./maildir.ts'),
  pop3: () => import('./pop3.ts'),
  imap: () => import('./imap.ts'),
} satisfies Record<string, UnitLoader<(options: never) => Fetcher>>;
