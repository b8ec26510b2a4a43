import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import { mboxRecord } from '../mail/mbox.ts';
import createMboxDistributor from './mbox.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-mbox-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function post(body: string) {
  const mail = createListMail(
    Buffer.from(`Subject: s\r\nMessage-ID: <${body.length}@x>\r\n\r\n${body}`),
    {
      fetcher: 'test',
      id: '1',
    },
  );
  mail.ml_sender = 'red-bounces@list.test';
  mail.ml_send_to = ['a@x.test'];
  mail.ml_list_name = 'red';
  return mail;
}

describe('mbox distributor', () => {
  it('writes mboxrd records: From line, quoted From lines, LF endings', () => {
    const record = mboxRecord(
      Buffer.from('Subject: s\r\n\r\nFrom here\r\n>From there\r\n'),
      'b@l.test',
      new Date(Date.UTC(2026, 0, 5, 1, 2, 3)),
    );
    expect(record.toString()).toBe(
      'From b@l.test Mon Jan  5 01:02:03 2026\nSubject: s\n\n>From here\n>>From there\n\n',
    );
  });

  it('appends under a lock, once per post, each record after a blank line', async () => {
    const path = join(dir, 'archive.mbox');
    await writeFile(path, 'From x Mon Jan  5 01:02:03 2026\nSubject: torn'); // a record cut short
    const mbox = createMboxDistributor({ path });
    const first = post('one\r\n');
    const report = await mbox.distribute(first);
    expect(report.results).toEqual([
      { recipient: 'a@x.test', status: 'delivered', distributor: 'mbox' },
    ]);
    await mbox.distribute(first);
    await Promise.all([mbox.distribute(post('two\r\n')), mbox.distribute(post('three!\r\n'))]);
    const text = await readFile(path, 'utf8');
    expect(text.match(/^From /gm)).toHaveLength(4);
    expect(text).toContain('Subject: torn\n\nFrom red-bounces@list.test');
    expect(text.match(/^one$/gm)).toHaveLength(1);
  });

  it('waits for a held lock and gives up in time', async () => {
    const path = join(dir, 'busy.mbox');
    await writeFile(`${path}.lock`, '');
    const mbox = createMboxDistributor({ path, lock_timeout_ms: 200 });
    await expect(mbox.distribute(post('x\r\n'))).rejects.toThrow(/could not append/);
  });
});
