import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import createLogDistributor from './log.ts';

describe('log distributor', () => {
  it('logs one line per recipient and reports them delivered', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'malist-log-'));
    try {
      const mail = createListMail(Buffer.from('Message-ID: <m@x>\r\n\r\nb\r\n'), {
        fetcher: 't',
        id: '1',
      });
      mail.ml_sender = 'b@l.test';
      mail.ml_send_to = ['a@x.test', 'c@x.test'];
      const file = join(dir, 'log');
      const report = await createLogDistributor({ file, format: 'json' }).distribute(mail);
      expect(report.results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.recipient, l.message_id, l.sender])).toEqual([
        ['a@x.test', 'm@x', 'b@l.test'],
        ['c@x.test', 'm@x', 'b@l.test'],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
