import { describe, expect, it } from 'vitest';
import { formatDeliveryLine, parseDeliveryLine } from './delivery-log-line.ts';

describe('delivery log line', () => {
  it('reads back what it writes', () => {
    const line = formatDeliveryLine({
      time: new Date('2026-11-23T20:55:00Z'),
      list: 'red',
      outcome: 'distributed',
      delivered: 2,
      queued: 4,
      refused: 1,
      deferred: 4,
      messageId: 'm 1@example.com',
      reply: '451 4.3.0 try "later"',
    });
    expect(line).toBe(
      '2026-11-23T20:55:00.000Z list=red outcome=distributed recipients=6 refused=1 deferred=4 delivered=2 queued=4 message-id=<m1@example.com> reply="451 4.3.0 try \\"later\\""\n',
    );
    expect(parseDeliveryLine(line)).toEqual({
      day: '2026-11-23',
      list: 'red',
      outcome: 'distributed',
      recipients: 6,
      refused: 1,
      deferred: 4,
      messageId: '<m1@example.com>',
    });
  });

  it('reads lines older malist wrote (no delivered/queued), and none for other text', () => {
    expect(
      parseDeliveryLine(
        '2026-01-02T03:04:05.000Z list=blue outcome=held recipients=0 refused=0 deferred=0 message-id=<>',
      ),
    ).toMatchObject({ day: '2026-01-02', list: 'blue', outcome: 'held', messageId: undefined });
    expect(parseDeliveryLine('not a delivery line')).toBeUndefined();
  });

  it('a queue-run line names no Message-ID; a long reply is cut with a marker', () => {
    const line = formatDeliveryLine({
      time: new Date(0),
      list: 'red',
      outcome: 'queue-run',
      delivered: 1,
      queued: 0,
      refused: 0,
      deferred: 0,
      reply: 'x'.repeat(400),
    });
    expect(line).not.toContain('message-id');
    expect(line).toContain(`reply="${'x'.repeat(299)}…"`);
  });
});
