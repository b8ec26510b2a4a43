/** The static registry of distributors (YAML `type:` → default factory). */
import type { Distributor } from '../types.ts';
import createArchiveDistributor from './archive.ts';
import createDeliverTo from './deliver-to.ts';
import createImapAppendDistributor from './imap-append.ts';
import createLogDistributor from './log.ts';
import createMaildirDistributor from './maildir.ts';
import createMboxDistributor from './mbox.ts';
import createMultiple from './multiple.ts';
import createQueueDistributor from './queue.ts';
import createSendmailDistributor from './sendmail.ts';
import createSmtpDistributor from './smtp.ts';

export const distributors = {
  maildir: createMaildirDistributor,
  multiple: createMultiple,
  'deliver-to': createDeliverTo,
  queue: createQueueDistributor,
  smtp: createSmtpDistributor,
  mbox: createMboxDistributor,
  sendmail: createSendmailDistributor,
  'imap-append': createImapAppendDistributor,
  log: createLogDistributor,
  archive: createArchiveDistributor,
} satisfies Record<string, (options: never) => Distributor>;

export type DistributorType = keyof typeof distributors;
