/**
 * The distributors by YAML `type:`, each loaded only when a configuration names it (the
 * composition root plans with these, so a list that only queues does not load IMAP, mbox
 * or the archive). The same names as the eager registry in index.ts (a test holds them equal).
 */
import type { Distributor, UnitLoader } from '../types.ts';

export const distributorLoaders = {
  maildir: () => import('./maildir.ts'),
  multiple: () => import('./multiple.ts'),
  'deliver-to': () => import('./deliver-to.ts'),
  queue: () => import('./queue.ts'),
  smtp: () => import('./smtp.ts'),
  mbox: () => import('./mbox.ts'),
  sendmail: () => import('./sendmail.ts'),
  'imap-append': () => import('./imap-append.ts'),
  log: () => import('./log.ts'),
  archive: () => import('./archive.ts'),
  pipe: () => import('./pipe.ts'),
} satisfies Record<string, UnitLoader<(options: never) => Distributor>>;
