/**
 * The archive distributor's mbox and maildir, and `archive export`, open in mutt with
 * every message intact; replays do not duplicate; malist's own mail is not archived.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportArchive } from '../../src/archive/export.ts';
import { maildirPath, mboxPath } from '../../src/archive/paths.ts';
import createArchiveDistributor from '../../src/distributors/archive.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import type { ListMail } from '../../src/types.ts';
import { CORPUS_DIR as CORPUS } from '../helpers/corpus.ts';
import { muttAvailable, muttMessages } from '../helpers/mutt.ts';

const FILES = [
  '001-plain-lf.eml',
  '002-plain-crlf-no-final-newline.eml',
  '007-iso2022jp-ew-subject-mbox-from.eml',
  '008-shift-jis-8bit.eml',
  '023-pdf-attachment-mbox-from-8bit-subject.eml',
  '026-dkim-inline-images-watch-html.eml',
  '028-mime-torture-finnie.eml',
  '031-list-post-pgp-signed-with-footer.eml',
  '061-large-list-mail-1mb.eml',
];
const FROM_LINES =
  'From: a@example.com\nSubject: From lines\nMessage-ID: <fromlines@test>\n\nFrom the start\n>From quoted once\n>>From quoted twice\nend\n';

/** What a mail reader must see: the wire bytes, LF line ends, no trailing blank lines. */
function canonical(bytes: Buffer | string): string {
  return (typeof bytes === 'string' ? bytes : bytes.toString('latin1'))
    .replace(/\r\n/g, '\n')
    .replace(/\n+$/, '');
}

/** mutt reads mbox as mboxo: undo the mboxrd quoting (mbox only) and drop the From_ line. */
function fromMutt(message: string, mbox = true): string {
  const text = message.replace(/^From [^\n]*\n/, '');
  return canonical(mbox ? text.replace(/^>(>*From )/gm, '$1') : text);
}

let posts: ListMail[];
const when = new Date('2026-11-15T10:00:00Z');

beforeAll(async () => {
  posts = [];
  for (const file of FILES) {
    const mail = createListMail(await readFile(join(CORPUS, file)), { fetcher: 'test', id: file });
    mail.ml_list_name = 'red';
    mail.ml_send_to = ['alice@example.com', 'bob@example.org'];
    posts.push(mail);
  }
  const extra = createListMail(Buffer.from(FROM_LINES), { fetcher: 'test', id: 'from-lines' });
  extra.ml_list_name = 'red';
  posts.push(extra);
});

async function archiveAll(dir: string, format: 'mbox' | 'maildir' | 'both') {
  const archive = createArchiveDistributor({ dir, format, now: () => when });
  for (const post of posts) {
    const report = await archive.distribute(post);
    expect(report.results).toEqual([]);
  }
  // A replay after a crash adds nothing.
  for (const post of posts.slice(0, 3)) await archive.distribute(post);
  const own = createListMail(
    Buffer.from(
      'From: red-request@list.example\nAuto-Submitted: auto-replied\nSubject: confirm\n\nx\n',
    ),
    {
      fetcher: 'malist',
      id: 'reply',
    },
  );
  own.ml_list_name = 'red';
  await archive.distribute(own);
}

describe('archive', () => {
  const mutt = muttAvailable();

  it.runIf(mutt)('the month mbox opens in mutt with every post intact, once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-'));
    await archiveAll(dir, 'mbox');
    const seen = await muttMessages(mboxPath(dir, 'red', '2026-11'));
    expect(seen).toHaveLength(posts.length);
    seen.forEach((message, i) => {
      expect(fromMutt(message), FILES[i] ?? 'from-lines').toBe(canonical(mailBytes(posts[i]!)));
    });
  });

  it.runIf(mutt)('the month maildir opens in mutt with every post intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-'));
    await archiveAll(dir, 'maildir');
    const box = maildirPath(dir, 'red', '2026-11');
    expect(await readdir(join(box, 'new'))).toHaveLength(posts.length);
    const seen = (await muttMessages(box)).map((m) => fromMutt(m, false)).sort();
    expect(seen).toEqual(posts.map((p) => canonical(mailBytes(p))).sort());
  });

  it.runIf(mutt)(
    'archive export gives one mbox that mutt reads, from mbox or maildir months',
    async () => {
      for (const format of ['mbox', 'maildir'] as const) {
        const dir = await mkdtemp(join(tmpdir(), 'malist-archive-'));
        await archiveAll(dir, format);
        const file = join(dir, 'export.mbox');
        const out = createWriteStream(file);
        for await (const chunk of exportArchive({
          dir,
          list: 'red',
          from: '2026-01',
          to: '2026-12',
        }))
          out.write(chunk);
        await new Promise((r) => out.end(r));
        const seen = (await muttMessages(file)).map((m) => fromMutt(m)).sort();
        expect(seen, format).toEqual(posts.map((p) => canonical(mailBytes(p))).sort());
        const none: Buffer[] = [];
        for await (const chunk of exportArchive({ dir, list: 'red', from: '2027-01' }))
          none.push(chunk);
        expect(none).toEqual([]);
      }
    },
  );

  it('mailparser reads the archived posts (headers and text intact)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-'));
    await archiveAll(dir, 'maildir');
    const box = join(maildirPath(dir, 'red', '2026-11'), 'new');
    const ids = [];
    for (const name of await readdir(box))
      ids.push((await simpleParser(await readFile(join(box, name)))).messageId);
    expect(ids.sort()).toEqual(
      (
        await Promise.all(posts.map(async (p) => (await simpleParser(mailBytes(p))).messageId))
      ).sort(),
    );
  });
});
