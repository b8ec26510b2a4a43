/**
 * The archive store's contract against its backends: the files (monthly mbox, or maildir,
 * and the SQLite index beside them) and PostgreSQL rows. Two views of one place, as two
 * processes or hosts have them: a post added by one is listed, threaded, searched, read
 * back and exported by the other; a post added twice is one post.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PgArchive } from '../../src/archive/pg-store.ts';
import { type ArchiveStore, openFilesArchive } from '../../src/archive/store.ts';
import { archivePost } from '../helpers/archive-post.ts';
import { bothBackends, collect, type TwoViews } from '../helpers/store-contract.ts';

const files = (format: 'mbox' | 'maildir') => async (): Promise<TwoViews<ArchiveStore>> => {
  const dir = await mkdtemp(join(tmpdir(), `malist-archive-contract-${format}-`));
  const a = openFilesArchive(dir, format);
  const b = openFilesArchive(dir, format);
  return {
    a,
    b,
    place: dir,
    end: async () => {
      await a.close();
      await b.close();
    },
  };
};

const backends = bothBackends(
  'archive',
  files('mbox'),
  async (db) => new PgArchive(Promise.resolve(db), db.label),
);
backends.splice(1, 0, ['files (maildir)', files('maildir')]);

/** The bytes a backend gives back: an mbox keeps LF line ends, the others every byte. */
const kept = (name: string, bytes: Buffer) =>
  name === 'files' ? Buffer.from(bytes.toString('latin1').replace(/\r\n/g, '\n'), 'latin1') : bytes;

const NOW = Date.UTC(2026, 11, 1);

describe.each(backends)('archive store contract: %s', (name, open) => {
  it('adds once, lists by month and thread, reads the bytes back exactly', async () => {
    const { a, b, end } = await open();
    try {
      const first = archivePost(
        'root@x',
        'Flying teapots',
        'Café déjà vu: the teapot orbits.\nFrom here on.',
        {
          eol: '\r\n',
        },
      );
      const reply = archivePost(
        'reply@x',
        'Re: Flying teapots',
        '> the teapot orbits\nIt does not.',
        {
          refs: 'root@x',
          date: 'Wed, 04 Nov 2026 10:00:00 +0000',
          from: 'Bob <bob@example.net>',
        },
      );
      const other = archivePost('other@x', 'Kettles', 'Steam rises in December.', {
        date: 'Tue, 01 Dec 2026 09:00:00 +0000',
      });
      expect(await a.add('red', first, NOW)).toEqual({ added: true, messageId: 'root@x' });
      expect(await b.add('red', first, NOW)).toEqual({ added: false, messageId: 'root@x' });
      expect((await b.add('red', reply, NOW)).added).toBe(true);
      expect((await a.add('red', other, NOW)).added).toBe(true);
      // Another list may hold the same Message-ID.
      expect((await a.add('blue', first, NOW)).added).toBe(true);

      expect(await b.count('red')).toBe(3);
      expect(await b.count()).toBe(4);
      expect(await b.lists()).toEqual(['blue', 'red']);
      expect(await b.months('red')).toEqual([
        { month: '2026-12', posts: 1, threads: 1 },
        { month: '2026-11', posts: 2, threads: 1 },
      ]);
      const november = await a.monthThreads('red', '2026-11');
      expect(november).toMatchObject({ posts: 2, threads: 1 });
      expect(november.items[0]).toMatchObject({ threadId: 'root@x', inMonth: 2, total: 2 });
      expect(november.items[0]!.starter.messageId).toBe('root@x');
      const thread = await b.threadPosts('red', 'root@x');
      expect(thread.map((p) => p.messageId)).toEqual(['root@x', 'reply@x']);
      expect(thread[1]).toMatchObject({
        fromAddr: 'bob@example.net',
        subject: 'Re: Flying teapots',
      });
      expect((await a.monthPosts('red', '2026-12')).map((p) => p.messageId)).toEqual(['other@x']);
      expect((await a.latestPosts('red', 2)).map((p) => p.messageId)).toEqual([
        'other@x',
        'reply@x',
      ]);
      const got = (await b.post('red', 'reply@x'))!;
      const around = await a.neighbours(got);
      expect(around.previous?.messageId).toBe('root@x');
      expect(around.next?.messageId).toBe('other@x');

      const stored = (await a.post('red', 'root@x'))!;
      expect((await b.read(stored)).equals(kept(name, first))).toBe(true);
      expect(await b.post('red', 'nobody@x')).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('a reply that arrives first joins its thread when the root comes', async () => {
    const { a, b, end } = await open();
    try {
      await a.add('red', archivePost('r2@x', 'Re: Order', 'late root', { refs: 'r1@x' }), NOW);
      await b.add(
        'red',
        archivePost('r1@x', 'Order', 'the root', { date: 'Mon, 02 Nov 2026 10:00:00 +0000' }),
        NOW,
      );
      const posts = await a.threadPosts('red', 'r1@x');
      expect(posts.map((p) => p.messageId)).toEqual(['r1@x', 'r2@x']);
    } finally {
      await end();
    }
  });

  it('searches words, phrases, prefixes, exclusions, subject:, from:, dates, accents', async () => {
    const { a, b, end } = await open();
    try {
      await a.add(
        'red',
        archivePost(
          's1@x',
          'Teapot orbit report',
          'The porcelain teapot orbits the sun. Café au lait.',
        ),
        NOW,
      );
      await a.add(
        'red',
        archivePost('s2@x', 'Kettle news', 'A kettle boiled over; no teapot here.', {
          from: 'Carol Singer <carol@example.com>',
          date: 'Tue, 01 Dec 2026 09:00:00 +0000',
        }),
        NOW,
      );
      await a.add('blue', archivePost('s3@x', 'Sugar', 'Sugar cubes and porcelain cups.'), NOW);
      const ids = async (q: string, more: Parameters<ArchiveStore['search']>[0] = {}) =>
        (await b.search({ q, ...more })).hits.map((h) => h.post.messageId).sort();

      expect(await ids('teapot')).toEqual(['s1@x', 's2@x']);
      expect(await ids('TEAPOT porcelain')).toEqual(['s1@x']);
      expect(await ids('"porcelain teapot"')).toEqual(['s1@x']);
      expect(await ids('"teapot porcelain"')).toEqual([]);
      expect(await ids('porcel*')).toEqual(['s1@x', 's3@x']);
      expect(await ids('teapot -kettle')).toEqual(['s1@x']);
      expect(await ids('subject:teapot')).toEqual(['s1@x']);
      expect(await ids('subject:kett*')).toEqual(['s2@x']);
      expect(await ids('teapot from:carol@example.com')).toEqual(['s2@x']);
      expect(await ids('from:Singer')).toEqual(['s2@x']);
      expect(await ids('teapot after:2026-12')).toEqual(['s2@x']);
      expect(await ids('teapot before:2026-11')).toEqual(['s1@x']);
      expect(await ids('cafe')).toEqual(['s1@x']);
      expect(await ids('carol')).toEqual(['s2@x']);
      expect(await ids('porcelain', { lists: ['blue'] })).toEqual(['s3@x']);
      expect(await ids('porcelain list:red')).toEqual(['s1@x']);
      expect(await ids('zeppelin')).toEqual([]);
      const ranked = await b.search({ q: 'teapot' });
      expect(ranked.total).toBe(2);
      // The subject weighs most.
      expect(ranked.hits[0]!.post.messageId).toBe('s1@x');
      expect(ranked.hits[0]!.snippet.some((p) => p.match && /teapot/i.test(p.text))).toBe(true);
    } finally {
      await end();
    }
  });

  it('exports a list as one mbox, months in order, a range when asked', async () => {
    const { a, b, end } = await open();
    try {
      const nov = archivePost('e1@x', 'One', 'From the start\nFirst post.');
      const dec = archivePost('e2@x', 'Two', 'Second post.', {
        date: 'Tue, 01 Dec 2026 09:00:00 +0000',
      });
      await a.add('red', nov, NOW);
      await a.add('red', dec, NOW);
      const whole = Buffer.concat(await collect(b.export('red'))).toString('latin1');
      expect(whole.match(/^From /gm)).toHaveLength(2);
      expect(whole).toContain('\n>From the start\n');
      expect(whole.indexOf('<e1@x>')).toBeLessThan(whole.indexOf('<e2@x>'));
      const december = Buffer.concat(await collect(b.export('red', { from: '2026-12' })));
      expect(december.toString('latin1')).toContain('<e2@x>');
      expect(december.toString('latin1')).not.toContain('<e1@x>');
    } finally {
      await end();
    }
  });
});
