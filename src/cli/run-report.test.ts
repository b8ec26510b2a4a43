import { describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import type { OutcomeEvent } from '../play.ts';
import type { RecipientResult } from '../types.ts';
import { countEvent, countRetry, describeTally, listAttention, newTally } from './run-report.ts';

const mail = createListMail(Buffer.from('Message-ID: <m@x>\r\n\r\nbody\r\n'), {
  fetcher: 'test',
  id: '1',
});

function distributed(results: Array<Partial<RecipientResult>>): OutcomeEvent {
  return {
    mail,
    list: 'red',
    outcome: 'distributed',
    report: {
      results: results.map((r, i) => ({
        recipient: `m${i}@example.org`,
        status: 'queued',
        distributor: 'queue',
        ...r,
      })),
    },
  };
}

describe('a list’s line and whether it needs the operator', () => {
  it('the server down: queued with the reason, needs no one', () => {
    const t = newTally();
    const down = { response: 'connecting to 127.0.0.1:25 failed: connect ECONNREFUSED' };
    countEvent(t, distributed([down, down, down]));
    expect(describeTally(t)).toBe(
      '1 post — 0 delivered, 3 queued (connecting to 127.0.0.1:25 failed: connect ECONNREFUSED)',
    );
    expect(listAttention('red', t)).toBeUndefined();
  });

  it('TLS failed or the login refused, nothing delivered: needs the operator', () => {
    const tls = newTally();
    countEvent(
      tls,
      distributed([{ response: 'the TLS handshake failed: certificate has expired' }]),
    );
    expect(listAttention('red', tls)).toMatch(
      /^red: nothing delivered: TLS with the SMTP server failed/,
    );
    const auth = newTally();
    countRetry(auth, [
      {
        recipient: 'a@x',
        status: 'deferred',
        distributor: 'queue',
        code: 535,
        response: '535 5.7.8 no',
      },
    ]);
    expect(describeTally(auth)).toBe('1 recipient retried — 0 delivered, 1 queued (535 5.7.8 no)');
    expect(listAttention('red', auth)).toMatch(/refused the login \(535 5\.7\.8 no\)/);
  });

  it('delivered, refused, held together; a dead letter needs the operator only when nothing was delivered', () => {
    const t = newTally();
    countEvent(
      t,
      distributed([
        { status: 'delivered', code: 250, response: '250 ok' },
        { status: 'failed', code: 550, response: '5.1.1 no such user' },
      ]),
    );
    countEvent(t, { mail, list: 'red', outcome: 'held', reason: 'not a member' });
    expect(describeTally(t)).toBe(
      '1 post — 1 delivered, 1 refused (550 5.1.1 no such user), 1 held',
    );
    expect(listAttention('red', t)).toBeUndefined();
    t.deadLetters = 1;
    t.deadReason = '550 5.1.1 no such user';
    expect(listAttention('red', t)).toBeUndefined();
    t.delivered = 0;
    expect(listAttention('red', t)).toBe('red: 1 dead letter (550 5.1.1 no such user)');
  });
});
