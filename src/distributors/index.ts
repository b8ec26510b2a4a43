/** The static registry of distributors (YAML `type:` → default factory). */
import type { Distributor, UnitModule } from '../types.ts';
import * as archive from './archive.ts';
import * as deliverTo from './deliver-to.ts';
import * as imapAppend from './imap-append.ts';
import * as log from './log.ts';
import * as maildir from './maildir.ts';
import * as mbox from './mbox.ts';
import * as multiple from './multiple.ts';
import * as pipe from './pipe.ts';
import * as queue from './queue.ts';
import * as sendmail from './sendmail.ts';
import * as smtp from './smtp.ts';

export const distributors = {
  maildir: maildir,
  multiple: multiple,
  'deliver-to': deliverTo,
  queue: queue,
  smtp: smtp,
  mbox: mbox,
  sendmail: sendmail,
  'imap-append': imapAppend,
  log: log,
  archive: archive,
  pipe: pipe,
} satisfies Record<string, UnitModule<(options: never) => Distributor>>;

export type DistributorType = keyof typeof distributors;
