/**
 * The whole default pipeline over every corpus message: each one is either refused with a
 * signal or comes out as mail that mailparser reads, with the list's fields set once, and
 * (for signed mail) the signed entity byte for byte.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSignal } from '../../src/errors.ts';
import { createListMail, mailBytes } from '../../src/mail/list-mail.ts';
import { parseMime } from '../../src/mail/mime-tree.ts';
import createSingleList from '../../src/processors/single-list.ts';
import { corpusFiles } from '../helpers/corpus.ts';
import { fixture, redList } from './corpus.ts';

const names = corpusFiles();

describe('default pipeline over the corpus', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-corpus-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(names)('%s', async (name) => {
    const raw = fixture(name.slice(0, 3));
    const list = createSingleList(
      redList({
        posting: 'open',
        subject_prefix: '[Red %d] ',
        state_dir: dir,
        max_message_size: 2_000_000,
      }),
    );
    const mail = createListMail(raw, { fetcher: 'corpus', id: name });
    const before = parseMime(mail.header, mail.body);
    const body = mail.body;
    let out: typeof mail;
    try {
      out = await list.process(mail);
    } catch (error) {
      expect(isSignal(error), String(error)).toBe(true);
      return;
    }
    const bytes = mailBytes(out);
    const parsed = await simpleParser(bytes);
    expect(out.header.getAll('List-Id')).toEqual(['Red mail list <red.list.example.com>']);
    expect(out.header.getAll('X-Loop')).toEqual(['red@list.example.com']);
    expect(parsed.subject ?? '').toMatch(/\[Red \d+\]/);
    expect(out.ml_send_to).toEqual(['alice@example.com', 'bob@example.org']);
    if (before.type.mime === 'multipart/signed') {
      const inner = parseMime(out.header, out.body).children[0]!;
      expect(out.body.subarray(inner.bodyStart, inner.end)).toEqual(body);
    }
  });
});
