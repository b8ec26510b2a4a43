import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StageError } from '../errors.ts';
import { UID_LIST, UID_STATES, UidRecord } from './uid-record.ts';

describe('UidRecord', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-uid-record-'));
    path = join(dir, 'pop3', 'box.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps the POP3 layout: a list of UIDL strings', async () => {
    const record = new UidRecord(path, 'pop3', UID_LIST);
    await record.load();
    await record.mark('a1', 'acked');
    await record.mark('b2', 'acked');
    expect(await readFile(path, 'utf8')).toBe('{"uids":["a1","b2"]}\n');
    const again = new UidRecord(path, 'pop3', UID_LIST);
    await again.load();
    expect([...again.entries()]).toEqual([
      ['a1', 'acked'],
      ['b2', 'acked'],
    ]);
  });

  it('keeps the IMAP layout: a UIDVALIDITY and a state per numeric UID', async () => {
    await mkdir(join(dir, 'pop3'));
    await writeFile(path, '{"uidValidity":"7","uids":{"3":"acked","9":"copied"}}\n');
    const record = new UidRecord(path, 'imap', UID_STATES);
    await record.load();
    expect(record.validity).toBe('7');
    expect(record.has(3) && record.has(9)).toBe(true);
    await record.mark(9, 'acked');
    expect(await readFile(path, 'utf8')).toBe(
      '{"uidValidity":"7","uids":{"3":"acked","9":"acked"}}\n',
    );
  });

  it('forgets UIDs that left the mailbox, and starts over under a new UIDVALIDITY', async () => {
    const record = new UidRecord(path, 'imap', UID_STATES);
    await record.startOver('1');
    await record.mark(1, 'acked');
    await record.mark(2, 'acked');
    await record.keepOnly(new Set([2, 5]));
    expect([...record.entries()]).toEqual([[2, 'acked']]);
    await record.startOver('1');
    expect(record.has(2)).toBe(true);
    await record.startOver('2');
    expect(record.has(2)).toBe(false);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ uidValidity: '2', uids: {} });
  });

  it('names a record it cannot read, and treats a missing one as empty', async () => {
    const missing = new UidRecord(path, 'pop3', UID_LIST);
    await missing.load();
    expect([...missing.entries()]).toEqual([]);
    await mkdir(join(dir, 'pop3'));
    await writeFile(path, '{not json');
    const broken = new UidRecord(path, 'pop3', UID_LIST);
    const error = await broken.load().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StageError);
    expect(error).toMatchObject({ code: 'ESTORAGE', unit: 'pop3' });
    expect((error as Error).message).toContain(path);
  });
});
