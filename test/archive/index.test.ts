/**
 * The archive index against real archive mail (test/fixtures/archive, MANIFEST.tsv): imports
 * from a mail reader's mbox, a pipermail `.txt.gz` and a maildir, with the counts and threads
 * a reader expects and nothing added twice; search with filters and marked snippets in
 * several languages; the index deleted and rebuilt from the files; the archive distributor
 * filling it as posts are archived, also after a crash between the file and the index; and
 * a thread's mbox that mailparser reads back byte for byte.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { months, monthThreads, thread, threadPosts } from '../../src/archive/browse.ts';
import { type ArchiveIndex, INDEX_FILE } from '../../src/archive/db.ts';
import { importArchive } from '../../src/archive/import.ts';
import { scanMbox } from '../../src/archive/mbox-scan.ts';
import { mboxPath } from '../../src/archive/paths.ts';
import { mboxOf, readStored } from '../../src/archive/read.ts';
import { search } from '../../src/archive/search.ts';
import { reindex } from '../../src/archive/sync.ts';
import { flattenThread } from '../../src/archive/thread.ts';
import createArchiveDistributor from '../../src/distributors/archive.ts';
import createMboxDistributor from '../../src/distributors/mbox.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import { mboxRecord } from '../../src/mail/mbox.ts';
import { freshIndexes } from '../helpers/archive-index.ts';

const FIXTURES = new URL('../fixtures/archive/', import.meta.url).pathname;
const MAGICK = join(FIXTURES, 'magick-2000-02.mbox');
const fresh = freshIndexes('index');

/** The tree of a thread as "depth author" lines. */
function shape(index: ArchiveIndex, list: string, threadId: string): string[] {
  return flattenThread(thread(index, list, threadId)).map(
    (n) => `${n.depth} ${n.post.fromName || n.post.fromAddr}`,
  );
}

/** The magick mbox as Mailman 2's pipermail publishes a month (`2000-February.txt`). */
async function pipermailTxt(): Promise<Buffer> {
  const out: string[] = [];
  for await (const record of scanMbox(MAGICK)) {
    const message = record.message.toString('latin1');
    const head = message.slice(0, message.indexOf('\n\n'));
    const body = message.slice(message.indexOf('\n\n') + 2);
    const field = (name: string) =>
      new RegExp(`^${name}:[^\\n]*(\\n[ \\t][^\\n]*)*`, 'im').exec(head)?.[0];
    const from = /^From: *(.*?) *<([^@>]+)@([^>]+)>/im.exec(head)!;
    const date = new Date(Date.parse(field('Date')!.slice(6))).toUTCString().split(' ');
    const asctime = `${date[0]!.replace(',', '')} ${date[2]} ${date[1]!.padStart(2)} ${date[4]} ${date[3]}`;
    out.push(
      [
        `From ${from[2]} at ${from[3]}  ${asctime}`,
        `From: ${from[2]} at ${from[3]} (${from[1]!.replace(/"/g, '')})`,
        field('Date'),
        field('Subject'),
        field('In-Reply-To'),
        field('References'),
        field('Message-I[dD]'),
      ]
        .filter(Boolean)
        .join('\n'),
      '',
      `${body.replace(/^From /gm, '>From ')}\n`,
    );
  }
  return Buffer.from(out.join('\n'), 'latin1');
}

describe('import', () => {
  it("a mail reader's mbox of a real list: five posts in two threads, joined by References and by subject", async () => {
    const index = await fresh();
    const first = await importArchive(index, { list: 'magick', source: MAGICK });
    expect(first).toMatchObject({ kind: 'mbox', read: 5, added: 5, duplicates: 0 });
    expect(months(index, 'magick')).toEqual([{ month: '2000-02', posts: 5, threads: 2 }]);
    const page = monthThreads(index, 'magick', '2000-02');
    expect(page.items.map((t) => [t.starter.subject, t.inMonth, t.total])).toEqual([
      ['Transparency question', 2, 2],
      ['Re: File Conversion From HTML to PS and TIFF', 3, 3],
    ]);
    // The first post of that thread was never in the archive: its replies gather under it.
    expect(page.items[1]!.threadId).toBe('38A11D0E.A2064062@ipicorp.com');
    expect(shape(index, 'magick', page.items[1]!.threadId)).toEqual([
      '0 William Park',
      '1 Lincoln, D. E. (Daniel)',
      '1 Steve Dotson',
    ]);
    expect(shape(index, 'magick', page.items[0]!.threadId)).toEqual([
      '0 Steve Sapovits',
      '1 Bill Radcliffe',
    ]);
    const again = await importArchive(index, { list: 'magick', source: MAGICK });
    expect(again).toMatchObject({ read: 5, added: 0, duplicates: 5 });
    expect(index.count('magick')).toBe(5);
  });

  it('a pipermail month (.txt.gz, addresses "x at y"): the same posts, authors read back', async () => {
    const index = await fresh();
    const file = join(index.root, '2000-February.txt.gz');
    await writeFile(file, gzipSync(await pipermailTxt()));
    expect(await importArchive(index, { list: 'magick', source: file })).toMatchObject({
      read: 5,
      added: 5,
    });
    const post = index.post('magick', '20000209154405.C265@better.net')!;
    expect([post.fromName, post.fromAddr]).toEqual(['William Park', 'parkw@better.net']);
    expect(months(index, 'magick')).toEqual([{ month: '2000-02', posts: 5, threads: 2 }]);
    // The same history from the subscriber's mbox adds nothing (same Message-IDs).
    expect(await importArchive(index, { list: 'magick', source: MAGICK })).toMatchObject({
      added: 0,
      duplicates: 5,
    });
  });

  it('a maildir of posts in several charsets, into a maildir archive', async () => {
    const index = await fresh();
    const box = join(index.root, 'source');
    await mkdir(join(box, 'cur'), { recursive: true });
    await cp(join(FIXTURES, 'intl'), join(box, 'new'), { recursive: true });
    const result = await importArchive(index, { list: 'intl', source: box, format: 'maildir' });
    expect(result).toMatchObject({ kind: 'maildir', read: 8, added: 8 });
    const root = index.post('intl', 'root-2022@example.com')!;
    expect(shape(index, 'intl', root.threadId)).toEqual([
      '0 Rick Sanchez',
      '1 Renée Dupré',
      '2 Jürgen Müller',
    ]);
    expect(index.post('intl', 'de-2022@example.de')!.subject).toBe('AW: Hello this is a test');
    expect(await readdir(join(index.root, 'intl', '2022-06', 'new'))).toHaveLength(2);
    expect((await importArchive(index, { list: 'intl', source: box })).added).toBe(0);
  });

  it('refuses nothing it cannot read: a file that is no mail at all is one odd post, not a crash', async () => {
    const index = await fresh();
    const junk = join(index.root, 'junk.bin');
    await writeFile(junk, Buffer.from([0, 1, 2, 255, 254, 10, 10, 65]));
    expect(await importArchive(index, { list: 'odd', source: junk })).toMatchObject({ added: 1 });
  });
});

describe('search', () => {
  async function archive(): Promise<ArchiveIndex> {
    const index = await fresh();
    await importArchive(index, { list: 'magick', source: MAGICK });
    await importArchive(index, { list: 'intl', source: join(FIXTURES, 'intl') });
    return index;
  }

  it('finds phrases in non-ASCII posts, without regard to case or accents, with marked snippets', async () => {
    const index = await archive();
    const french = search(index, { q: '"a écrit"' });
    expect(french.hits.map((h) => h.post.messageId)).toEqual(['fr-2022@example.fr']);
    expect(french.hits[0]!.snippet.filter((p) => p.match).map((p) => p.text)).toEqual(['a écrit']);
    expect(search(index, { q: 'SAYING' }).hits[0]!.post.subject).toBe('Säying Hello');
    expect(search(index, { q: 'шостий' }).hits[0]!.post.subject).toBe('rr test 7');
    const japanese = search(index, { q: 'かきく' });
    expect(japanese.hits).toHaveLength(1);
    expect(japanese.hits[0]!.snippet.find((p) => p.match)!.text).toBe('かきく');
    expect(search(index, { q: 'テスト' }).hits[0]!.post.messageId).toBe(
      '0CC5E11ED2C1D@example.com',
    );
  });

  it('filters by author, date range and list, and ranks own words above quoted ones', async () => {
    const index = await archive();
    expect(search(index, { q: 'mogrify' }).total).toBe(2);
    // The question uses the word; the reply only quotes it.
    expect(search(index, { q: 'mogrify' }).hits[0]!.post.fromName).toBe('Steve Sapovits');
    expect(search(index, { q: 'mogrify', from: 'billr@corbis.com' }).total).toBe(1);
    expect(search(index, { q: 'mogrify from:radcliffe' }).total).toBe(1);
    expect(search(index, { q: 'netscape', before: '2000-02-09' }).total).toBe(3);
    expect(search(index, { q: 'netscape', after: '2000-02-10' }).total).toBe(0);
    expect(
      search(index, { q: 'test', lists: ['magick'] }).hits.every((h) => h.post.list === 'magick'),
    ).toBe(true);
    expect(search(index, { q: 'test list:intl', lists: ['magick'] }).total).toBe(0);
    expect(search(index, { q: 'transparency -mogrify' }).total).toBe(0);
    expect(search(index, { q: 'subject:transparency' }).total).toBe(2);
    expect(search(index, { q: 'transp*' }).total).toBe(2);
    expect(search(index, { from: 'Bill' }).hits.map((h) => h.post.fromName)).toEqual([
      'Bill Radcliffe',
    ]);
    // FTS5 syntax in a query is only words.
    expect(search(index, { q: 'NEAR( "x" OR ) * ^' }).total).toBe(0);
  });
});

describe('a word in very many posts', () => {
  it('is counted to 1,000 ("or more"), ranked among the newest 1,000 matches, sorted by date in full', async () => {
    const index = await fresh();
    const source = join(index.root, 'many.mbox');
    const posts: Buffer[] = [];
    for (let i = 0; i < 1500; i++) {
      const date = new Date(Date.UTC(2024, 0, 1) + i * 3_600_000);
      const subject = i === 1400 ? 'common ground' : i === 3 ? 'rare' : `note ${i}`;
      const message = `From: A <a@example.org>\nMessage-ID: <m${i}@example.org>\nDate: ${date.toUTCString()}\nSubject: ${subject}\n\nA common word, said again${i === 3 ? ' with a zyzzyva' : ''}.\n`;
      posts.push(mboxRecord(Buffer.from(message), 'a@example.org', date));
    }
    await writeFile(source, Buffer.concat(posts));
    expect((await importArchive(index, { list: 'many', source })).added).toBe(1500);
    const common = search(index, { q: 'common' });
    expect(common).toMatchObject({ total: 1000, more: true });
    expect(common.hits[0]!.post.messageId).toBe('m1400@example.org');
    expect(search(index, { q: 'common', sort: 'date' }).hits[0]!.post.messageId).toBe(
      'm1499@example.org',
    );
    const paged = search(index, { q: 'common', offset: 1400, limit: 50 });
    expect(paged.hits).toHaveLength(50);
    const rare = search(index, { q: 'zyzzyva' });
    expect(rare.total).toBe(1);
    expect(rare.more).toBeUndefined();
  });
});

describe('the files are the truth', () => {
  it('deleting the index and reindexing gives back every post, thread and hit', async () => {
    const index = await fresh();
    await importArchive(index, { list: 'magick', source: MAGICK });
    await importArchive(index, { list: 'intl', source: join(FIXTURES, 'intl'), format: 'both' });
    const before = {
      magick: monthThreads(index, 'magick', '2000-02'),
      hits: search(index, { q: 'netscape' }).hits.map((h) => h.post.messageId),
      count: index.count(),
    };
    const root = index.root;
    index.close();
    for (const f of await readdir(root)) if (f.startsWith(INDEX_FILE)) await rm(join(root, f));
    const rebuilt = await fresh(root);
    expect(rebuilt.count()).toBe(0);
    const done = await reindex(rebuilt);
    expect(Object.fromEntries([...done].map(([l, r]) => [l, r.added]))).toEqual({
      intl: 8,
      magick: 5,
    });
    expect(rebuilt.count()).toBe(before.count);
    expect(
      monthThreads(rebuilt, 'magick', '2000-02').items.map((t) => [t.threadId, t.inMonth]),
    ).toEqual(before.magick.items.map((t) => [t.threadId, t.inMonth]));
    expect(search(rebuilt, { q: 'netscape' }).hits.map((h) => h.post.messageId)).toEqual(
      before.hits,
    );
  });

  it("a thread's mbox gives every post back byte for byte, and a stale index says so", async () => {
    const index = await fresh();
    await importArchive(index, { list: 'magick', source: MAGICK });
    const originals = new Map<string, Buffer>();
    for await (const r of scanMbox(MAGICK)) {
      const parsed = await simpleParser(r.message);
      originals.set(parsed.messageId!.replace(/[<>]/g, ''), r.message);
    }
    const posts = threadPosts(index, 'magick', '38A11D0E.A2064062@ipicorp.com');
    const mbox = join(index.root, 'thread.mbox');
    const chunks: Buffer[] = [];
    for await (const chunk of mboxOf(index.root, posts)) chunks.push(chunk);
    await writeFile(mbox, Buffer.concat(chunks));
    let n = 0;
    for await (const r of scanMbox(mbox, 0, { strict: true })) {
      const parsed = await simpleParser(r.message);
      const id = parsed.messageId!.replace(/[<>]/g, '');
      expect(r.message.equals(originals.get(id)!), id).toBe(true);
      n++;
    }
    expect(n).toBe(3);
    // Someone edits the month's file by hand: the index notices instead of showing another post.
    const file = mboxPath(index.root, 'magick', '2000-02');
    const text = await readFile(file, 'latin1');
    await writeFile(
      file,
      text.replace('From: William Park', 'X-Edited: yes\nFrom: William Park'),
      'latin1',
    );
    const second = posts[1]!;
    await expect(readStored(index.root, second)).rejects.toThrow(
      /malist archive reindex --list magick/,
    );
  });
});

describe('the archive distributor', () => {
  const post = (id: string, subject: string, extra = '') =>
    createListMail(
      Buffer.from(
        `From: Ann <ann@example.org>\r\nSubject: ${subject}\r\nMessage-ID: <${id}>\r\nDate: Sun, 15 Nov 2026 10:00:00 +0000\r\n${extra}\r\nA word about zeppelins.\r\n`,
      ),
      { fetcher: 'test', id },
    );
  const when = () => new Date('2026-11-15T10:00:00Z');

  it('indexes each post as it is archived, and one a crash left unindexed with the next', async () => {
    const index = await fresh();
    const archive = createArchiveDistributor({
      dir: index.root,
      now: when,
      openIndex: () => index,
    });
    const first = Object.assign(post('one@example.org', 'Zeppelins'), { ml_list_name: 'red' });
    await archive.distribute(first);
    expect(search(index, { q: 'zeppelins' }).total).toBe(1);
    // A crash after the mbox append, before the index: only the file has the post.
    const second = Object.assign(
      post('two@example.org', 'Re: Zeppelins', 'In-Reply-To: <one@example.org>\r\n'),
      {
        ml_list_name: 'red',
      },
    );
    await createMboxDistributor({ path: mboxPath(index.root, 'red', '2026-11') }).distribute(
      second,
    );
    expect(index.count('red')).toBe(1);
    const third = Object.assign(post('three@example.org', 'Airships'), { ml_list_name: 'red' });
    await archive.distribute(third);
    await archive.distribute(third); // a replay adds nothing
    expect(index.count('red')).toBe(3);
    expect(threadPosts(index, 'red', 'one@example.org').map((p) => p.messageId)).toEqual([
      'one@example.org',
      'two@example.org',
    ]);
    await archive.close?.();
  });

  it('with index: false, writes the files only', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-archive-noindex-'));
    const archive = createArchiveDistributor({ dir, now: when, index: false });
    await archive.distribute(Object.assign(post('x@example.org', 'x'), { ml_list_name: 'red' }));
    expect(await readdir(dir)).toEqual(['red']);
  });
});
