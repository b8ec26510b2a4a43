import { describe, expect, it } from 'vitest';
import { errorCodeOf, needsOperator, replyClass, replyText } from './smtp-reply.ts';

describe('a server reply as the operator reads it', () => {
  it('says the code once', () => {
    expect(replyText(550, '550 5.1.1 no such user')).toBe('550 5.1.1 no such user');
    expect(replyText(550, '5.1.1 no such user')).toBe('550 5.1.1 no such user');
    expect(replyText(535, 'authentication failed: 535 5.7.8 bad')).toBe(
      'authentication failed: 535 5.7.8 bad',
    );
    expect(replyText(550, undefined)).toBe('550');
    expect(replyText(undefined, 'connect ECONNREFUSED')).toBe('connect ECONNREFUSED');
    expect(replyText(451, '451-first\n451 second')).toBe('451-first 451 second');
  });

  it('names the class: a 550 is the recipient’s, a 535 the login’s, a refused connection the network’s', () => {
    expect(replyClass(250, '250 OK')).toBeUndefined();
    expect(replyClass(535, 'authentication failed: 535 5.7.8 Error')).toBe('EAUTH');
    expect(replyClass(undefined, 'the TLS handshake failed: certificate has expired')).toBe('ETLS');
    expect(replyClass(undefined, 'connecting to 127.0.0.1:25 failed: ECONNREFUSED')).toBe(
      'ECONNECTION',
    );
    expect(replyClass(451, '451 4.7.1 greylisted')).toBe('ETEMPORARY');
    expect(replyClass(550, '550 5.1.1 no such user')).toBe('EENVELOPE');
    expect(replyClass(552, '552 too big')).toBe('ESIZE');
    expect(errorCodeOf(550, '550 5.1.1 no such user')).toBe('EENVELOPE');
    expect(errorCodeOf(451, '451 later')).toBe('ECONNECTION');
    expect(needsOperator('EAUTH')).toBe(true);
    expect(needsOperator('ECONNECTION')).toBe(false);
  });
});
