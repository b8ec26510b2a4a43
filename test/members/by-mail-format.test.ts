/**
 * Subscribing and unsubscribing by mail write the list's YAML the way the operator wrote it:
 * comments, blank lines and folded text survive byte for byte; only the member line changes.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import createRequestHandler from '../../src/commands/request.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createYamlMemberStore from '../../src/members/yaml.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import type { ListMail } from '../../src/types.ts';

const list: ListSettings = {
  name: 'red',
  address: 'red@list.example',
  display_name: 'Red',
  members: [],
  moderators: ['owner@list.example'],
};

const HEAD = [
  '# The Red list.   Spaces    in comments stay.',
  'address: red@list.example      # aligned comment',
  'description: >',
  '  A folded description, longer than eighty columns, which a re-print of the document would fold again.',
  '',
  'posting: members',
  'deliver_to: [ archive@list.example ]',
  '',
  'members:',
  '  - alice@example.com   # founder',
  '',
  '  # joined later',
  '  - Bob Martin <bob@example.net>',
].join('\n');
const TAIL = '\n# the footer\nsubject_prefix: "[Red] "\n';

let n = 0;
function mail(from: string, subject: string): ListMail {
  n++;
  const raw = `From: ${from}\r\nTo: red-request@list.example\r\nSubject: ${subject}\r\nMessage-ID: <fmt${n}@test>\r\n\r\n`;
  return createListMail(Buffer.from(raw), { fetcher: 'test', id: `fmt${n}` });
}

function tokenOf(reply: ListMail): string {
  return /confirm ([0-9a-f]{32}-[0-9a-f]{24})/.exec(reply.header.get('Subject') ?? '')![1]!;
}

describe('membership by mail and the list file', () => {
  it('a subscribe adds one line and an unsubscribe takes it away; nothing else moves', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-fmt-'));
    const file = join(dir, 'red.yaml');
    await writeFile(file, `${HEAD}${TAIL}`);
    const store = createYamlMemberStore({ file });
    const handler = createRequestHandler(list, {
      store,
      tokens: new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 9)),
      state_dir: dir,
    });
    const [confirm] = await handler.handle(mail('Carol <carol@example.org>', 'subscribe'));
    await handler.handle(mail('carol@example.org', `Re: confirm ${tokenOf(confirm!)}`));
    expect(await readFile(file, 'utf8')).toBe(`${HEAD}\n  - carol@example.org${TAIL}`);
    const [leave] = await handler.handle(mail('carol@example.org', 'unsubscribe'));
    await handler.handle(mail('carol@example.org', `Re: confirm ${tokenOf(leave!)}`));
    expect(await readFile(file, 'utf8')).toBe(`${HEAD}${TAIL}`);
  });
});
