import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createMaildirDistributor from '../../src/distributors/maildir.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import { play } from '../../src/play.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { Processor } from '../../src/types.ts';
import { corpusMessages } from '../helpers/corpus.ts';
import { MemorySource } from '../helpers/memory-units.ts';

const corpus = corpusMessages();

/** Sets only the envelope: the no-op pipeline. */
const noop: Processor = {
  name: 'noop',
  async process(mail) {
    mail.ml_sender = 'list-bounces@example.com';
    mail.ml_send_to = ['reader@example.com'];
    return mail;
  },
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-corpus-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe.skipIf(corpus.length === 0)('every corpus message', () => {
  it.each(corpus.map((c) => [c.file, c] as const))(
    '%s parses and serialises byte-identical',
    (_file, c) => {
      const mail = createListMail(c.raw, { fetcher: 'corpus', id: c.file });
      expect(mailBytes(mail, { wire: false }).equals(c.raw)).toBe(true);
      // The wire form drops only an mbox From_ line or a byte-order mark.
      const wire = mailBytes(mail);
      expect(c.raw.subarray(c.raw.length - wire.length).equals(wire)).toBe(true);
      expect(c.raw.length - wire.length).toBe(mail.header.prefix.length);
    },
  );

  it('goes through a no-op pipeline and arrives byte-identical in a maildir', async () => {
    const source = new MemorySource();
    for (const c of corpus) source.add(c.raw);
    const out = join(dir, 'noop');
    const summary = await play({
      fetcher: source.fetcher(),
      processor: noop,
      distributor: createMaildirDistributor({ dir: out }),
      stateDir: join(dir, 'state-noop'),
    });
    expect(summary).toMatchObject({ fetched: corpus.length, failed: 0, quarantined: 0 });
    // Identical files in the corpus would be one mail; count distinct contents.
    const distinct = new Set(
      corpus.map((c) =>
        mailBytes(createListMail(c.raw, { fetcher: 'c', id: '' })).toString('base64'),
      ),
    );
    const files = await readdir(join(out, 'reader@example.com', 'new'));
    expect(files).toHaveLength(distinct.size);
    const delivered = new Set<string>();
    for (const f of files)
      delivered.add((await readFile(join(out, 'reader@example.com', 'new', f))).toString('base64'));
    expect(delivered).toEqual(distinct);
  });

  it('goes through an open list with a prefix: no crash, body bytes untouched', async () => {
    const source = new MemorySource();
    for (const c of corpus) source.add(c.raw);
    const list = createSingleList({
      name: 'open',
      address: 'open@list.example.com',
      members: ['reader@example.com'],
      posting: 'open',
      subject_prefix: '[Open] ',
      // Only the prefix: the default pipeline also refuses robots and adds a footer.
      pipeline: ['posting-policy', 'subject-prefix', 'envelope'],
    });
    const seen: Buffer[] = [];
    const summary = await play({
      fetcher: source.fetcher(),
      processor: list,
      distributor: {
        name: 'capture',
        async distribute(mail) {
          seen.push(mail.body);
          return {
            results: (mail.ml_send_to ?? []).map((recipient) => ({
              recipient,
              status: 'delivered' as const,
              distributor: 'capture',
            })),
          };
        },
      },
      stateDir: join(dir, 'state-open'),
    });
    expect(summary).toMatchObject({
      fetched: corpus.length,
      distributed: corpus.length,
      failed: 0,
      quarantined: 0,
    });
    for (const c of corpus) {
      const body = createListMail(c.raw, { fetcher: 'c', id: '' }).body;
      expect(
        seen.some((b) => b.equals(body)),
        c.file,
      ).toBe(true);
    }
  });
});
