import { describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import { deliveryLine, retryLine } from './delivery-log.ts';

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
      '2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=2 refused=1 deferred=0 delivered=1 queued=1 message-id=<m1@example.com> reply="550"\n',
    );
  });

  it('counts queued recipients the server deferred, and says why, the code once', () => {
    const why = { code: 535, response: 'authentication failed: 535 5.7.8 Error: bad password' };
    const line = deliveryLine(
      {
        mail,
        list: 'red',
        outcome: 'distributed',
        report: {
          results: ['a', 'b', 'c'].map((x) => ({
            recipient: `${x}@example.com`,
            status: 'queued' as const,
            distributor: 'queue',
            ...why,
          })),
        },
      },
      new Date('2026-11-23T20:55:00Z'),
    );
    expect(line).toBe(
      '2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=3 refused=0 deferred=3 delivered=0 queued=3 message-id=<m1@example.com> reply="authentication failed: 535 5.7.8 Error: bad password"\n',
    );
  });

  it('a queue run line per list, and a reason cut with a marker', () => {
    expect(
      retryLine(
        'red',
        {
          delivered: 2,
          queued: 1,
          deferred: 1,
          refused: 0,
          unqueued: 0,
          reply: '451 4.7.1 greylisted',
        },
        new Date('2026-11-23T20:55:00Z'),
      ),
    ).toBe(
      '2026-11-23T20:55:00.000Z list=red outcome=queue-run recipients=3 refused=0 deferred=1 delivered=2 queued=1 reply="451 4.7.1 greylisted"\n',
    );
    const long = deliveryLine(
      { mail, list: 'red', outcome: 'held', reason: 'x'.repeat(400) },
      new Date('2026-11-23T20:55:00Z'),
    );
    expect(long).toContain(`reason="${'x'.repeat(299)}…"`);
  });
});
