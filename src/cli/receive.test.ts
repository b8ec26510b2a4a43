import { describe, expect, it } from 'vitest';
import { envelopeClient } from './receive.ts';

describe('envelopeClient: the SMTP envelope Postfix hands malist receive, for SPF', () => {
  it('takes the flags of a pipe(8) command line first', () => {
    expect(
      envelopeClient(
        { sender: 'a@example.org', 'client-address': '192.0.2.7', 'client-helo': 'mx.example.org' },
        { SENDER: 'b@example.net', CLIENT_ADDRESS: '198.51.100.1' },
      ),
    ).toEqual({ sender: 'a@example.org', client: { ip: '192.0.2.7', helo: 'mx.example.org' } });
  });

  it("else local(8)'s environment; the null sender stays empty", () => {
    expect(
      envelopeClient({}, { SENDER: '', CLIENT_ADDRESS: '2001:db8::1', CLIENT_HELO: 'unknown' }),
    ).toEqual({ sender: '', client: { ip: '2001:db8::1' } });
    expect(envelopeClient({ sender: '<>' }, {})).toEqual({ sender: '' });
  });

  it('drops what Postfix did not know, and what is not an IP address', () => {
    expect(envelopeClient({ 'client-address': 'unknown', 'client-helo': 'x' }, {})).toEqual({});
    expect(envelopeClient({ 'client-address': 'mx.example.org' }, {})).toEqual({});
    expect(envelopeClient({}, {})).toEqual({});
  });
});
