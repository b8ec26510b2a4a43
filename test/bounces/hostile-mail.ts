/**
 * A hostile DSN for tests and the bench: a real-looking report for member@example.org,
 * then `size` bytes of filler (blank lines, one long token, endless boundary lines, header
 * lines or addresses), with or without the closing boundary, optionally wrapped in a
 * forwarded message/rfc822.
 */
export interface HostileOptions {
  kind: 'blank-lines' | 'long-token' | 'boundaries' | 'headers' | 'addresses';
  size: number;
  close: boolean;
  nested: boolean;
}

function filler(kind: HostileOptions['kind'], size: number): string {
  const unit = {
    'blank-lines': '\n',
    'long-token': 'x',
    boundaries: '--b\n',
    headers: 'Content-Type: message/delivery-status\n',
    addresses: '<victim@example.net>: 550 no such user\n',
  }[kind];
  return unit.repeat(Math.ceil(size / unit.length));
}

export function hostileDsn(o: HostileOptions): Buffer {
  const report = [
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Delivery failed.',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.example.net',
    '',
    'Final-Recipient: rfc822; member@example.org',
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 user unknown',
    '',
    '--b',
    'Content-Type: message/rfc822',
    '',
    'Subject: the post',
    '',
  ].join('\n');
  const tail = `${filler(o.kind, o.size)}${o.close ? '\n--b--\n' : ''}`;
  const inner = `${report}${tail}`;
  const top = o.nested
    ? `From: someone@example.net\nSubject: Fwd: bounce\nContent-Type: multipart/mixed; boundary="outer"\n\n--outer\nContent-Type: message/rfc822\n\nFrom: MAILER-DAEMON@mx.example.net\n${inner}`
    : `From: MAILER-DAEMON@mx.example.net\nSubject: Undelivered Mail Returned to Sender\n${inner}`;
  return Buffer.from(top, 'latin1');
}

/** Pieces of reports, mixed with arbitrary text by the property tests. */
export const REPORT_FRAGMENTS = [
  'Content-Type: multipart/report; boundary=b\n',
  'Content-Type: message/delivery-status\n',
  '--b\n',
  '--b--\n',
  'Final-Recipient: rfc822; a@b.example\n',
  'Action: failed\n',
  'Status: 5.1.1\n',
  '\n',
  '<x@y.example>: 550 no such user\n',
  `${'@'.repeat(3000)}\n`,
  `${'a'.repeat(5000)}@${'b'.repeat(5000)}.example\n`,
];
