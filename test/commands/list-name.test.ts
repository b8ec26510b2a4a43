/** "Welcome to the Pipe list list": a list name ending in "list" is said once in every text. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import createRequestHandler from '../../src/commands/request.ts';
import { listPhrase } from '../../src/list/phrase.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { renderTemplate } from '../../src/notices/templates.ts';
import { TokenStore } from '../../src/state/tokens.ts';

async function welcomeOf(display_name: string) {
  const list: ListSettings = {
    name: 'pipe',
    address: 'pipe@list.example',
    display_name,
    members: [],
  };
  const dir = await mkdtemp(join(tmpdir(), 'malist-name-'));
  const handler = createRequestHandler(list, {
    store: createMemoryMemberStore(),
    tokens: new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 7)),
    state_dir: dir,
  });
  const letter = (n: number, subject: string, body = '') =>
    createListMail(
      Buffer.from(
        `From: alice@example.com\r\nTo: pipe-request@list.example\r\nSubject: ${subject}\r\nMessage-ID: <s${n}@test>\r\n\r\n${body}`,
      ),
      { fetcher: 'test', id: String(n) },
    );
  const [confirmation] = await handler.handle(letter(1, 'subscribe'));
  const subject = confirmation!.header.get('Subject') ?? '';
  const token = /confirm (\S+)/.exec(subject)![1]!;
  const [welcome] = await handler.handle(letter(2, `Re: confirm ${token}`, 'yes\r\n'));
  return welcome!;
}

describe('a list name that ends in "list"', () => {
  it('the welcome says "the Pipe list", not "the Pipe list list"', async () => {
    const welcome = await welcomeOf('Pipe list');
    expect(welcome.header.get('Subject')).toBe('Welcome to the Pipe list');
    expect(welcome.raw.toString()).not.toMatch(/list list/i);
    expect((await welcomeOf('Red')).header.get('Subject')).toBe('Welcome to the Red list');
  });

  it('every template and phrase: once for "… list" / "… List", kept for "Playlist"', () => {
    expect(renderTemplate('Help for the {list_name} list', { list_name: 'Mailing List' })).toBe(
      'Help for the Mailing List',
    );
    expect(
      renderTemplate('Mail from the {list_name} list ({list_address})', {
        list_name: 'Pipe list',
        list_address: 'pipe@x',
      }),
    ).toBe('Mail from the Pipe list (pipe@x)');
    expect(renderTemplate('the {list_name} list', { list_name: 'Playlist' })).toBe(
      'the Playlist list',
    );
    expect(renderTemplate('the {list_name} lists', { list_name: 'Pipe list' })).toBe(
      'the Pipe list lists',
    );
    expect(listPhrase('Pipe list')).toBe('Pipe list');
    expect(listPhrase('red')).toBe('red list');
  });
});
