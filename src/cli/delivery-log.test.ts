import { describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import { deliveryLine } from './delivery-log.ts';

const mail = createListMail(
  Buffer.from('Message-ID: <m1@example.com>\r\nSubject: hi\r\n\r\nbody\r\n'),
  { fetcher: 'test', id: '1' },
);
mail.ml_list_name = 'red';

describe('delivery log line', () => {
  it('says time, list, outcome, recipient counts and Message-ID on one greppable line', () => {
    const line = deliveryLine(
      {
        mail,
        list: 'red',
        outcome: 'distributed',
        report: {
          results: [
            { recipient: 'a@example.com', status: 'delivered', distributor: 'smtp' },
            { recipient: 'b@example.com', status: 'queued', distributor: 'queue' },
            { recipient: 'c@example.com', status: 'failed', distributor: 'smtp', code: 550 },
          ],
        },
      },
      new Date('2026-11-23T20:55:00Z'),
    );
    expect(line).toBe(
      '2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=2 refused=1 deferred=0 message-id=<m1@example.com>\n',
    );
  });
});
