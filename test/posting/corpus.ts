/** Test helpers for the posting path: corpus fixtures as ListMails, a sample list, parsing. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParsedMail, simpleParser } from 'mailparser';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import type { ListMail } from '../../src/types.ts';
import { CORPUS_DIR as CORPUS } from '../helpers/corpus.ts';

/** The bytes of the corpus file whose name starts with `prefix` ("031"). */
export function fixture(prefix: string): Buffer {
  const name = readdirSync(CORPUS).find((n) => n.startsWith(prefix) && n.endsWith('.eml'));
  if (!name) throw new Error(`no corpus fixture ${prefix}`);
  return readFileSync(join(CORPUS, name));
}

export function fixtureMail(prefix: string): ListMail {
  return createListMail(fixture(prefix), { fetcher: 'test', id: prefix });
}

export function mailOf(text: string): ListMail {
  return createListMail(Buffer.from(text.replace(/\r?\n/g, '\r\n')), { fetcher: 'test', id: 'x' });
}

export function redList(overrides: Partial<ListSettings> = {}): ListSettings {
  return {
    name: 'red',
    address: 'red@list.example.com',
    display_name: 'Red mail list',
    members: ['alice@example.com', 'bob@example.org'],
    posting: 'members',
    subject_prefix: '[Red] ',
    ...overrides,
  };
}

export function parse(mail: ListMail): Promise<ParsedMail> {
  return simpleParser(mailBytes(mail));
}
