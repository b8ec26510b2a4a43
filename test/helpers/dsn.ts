/** A delivery status notification (RFC 3464) as an MTA mails it back to a bounce address. */

export interface HardBounceOptions {
  /** The bounce address it is mailed to (a VERP address names the member). */
  to: string;
  /** The recipient that failed. */
  recipient: string;
  /** Makes Subject and Message-ID unique. */
  n: number | string;
  /** The reporting MTA's domain. @default mx.example.org */
  mta?: string;
  /** The Message-ID of the message it returns (a text/rfc822-headers part). */
  returned?: string;
}

/** A hard bounce (5.1.1) for `recipient`, CRLF line ends. */
export function hardBounce({
  to,
  recipient,
  n,
  mta = 'mx.example.org',
  returned,
}: HardBounceOptions): string {
  return [
    `From: MAILER-DAEMON@${mta}`,
    `To: ${to}`,
    `Subject: Undelivered Mail Returned to Sender ${n}`,
    `Message-ID: <dsn${n}@${mta}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${mta}`,
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 mailbox unavailable',
    ...(returned
      ? [
          '--b',
          'Content-Type: text/rfc822-headers',
          '',
          `To: ${recipient}`,
          'Subject: a post',
          `Message-ID: ${returned}`,
        ]
      : []),
    '--b--',
    '',
  ].join('\r\n');
}
