/**
 * A plain-text test post for the archive's tests, 8-bit UTF-8, LF line ends unless `eol`
 * says otherwise; `refs` makes it a reply, `extra` adds a header field.
 */
export function archivePost(
  id: string,
  subject: string,
  body: string,
  more: { date?: string; refs?: string; from?: string; eol?: string; extra?: string } = {},
): Buffer {
  const eol = more.eol ?? '\n';
  const lines = [
    `From: ${more.from ?? 'Alice Example <alice@example.org>'}`,
    'To: red@lists.example',
    `Subject: ${subject}`,
    `Date: ${more.date ?? 'Tue, 03 Nov 2026 10:00:00 +0000'}`,
    `Message-ID: <${id}>`,
    ...(more.refs ? [`In-Reply-To: <${more.refs}>`, `References: <${more.refs}>`] : []),
    ...(more.extra ? [more.extra] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    body,
    '',
  ];
  return Buffer.from(lines.join(eol), 'utf8');
}
