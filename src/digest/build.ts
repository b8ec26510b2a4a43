/**
 * The two digest formats (pure, given the posts):
 * - MIME: multipart/mixed = [table of contents, multipart/digest of the posts as
 *   message/rfc822 with their bytes unchanged, footer] (RFC 2046 §5.1.5);
 * - plain text, RFC 1153: topics, then each post's Date/From/Subject/Message-ID and text,
 *   separated by lines of 30 hyphens, and the closing "End of … Digest" line.
 * Line ends are CRLF throughout, as on the wire.
 */
import { randomBytes } from 'node:crypto';
import { encodeWordsIfNeeded } from '../mail/encoded-words.ts';
import { type DigestNumber, digestTitle } from './numbering.ts';
import type { PostSummary } from './post-summary.ts';

export interface DigestSpec {
  /** The list's display name ("Red"). */
  listName: string;
  listAddress: string;
  /** From: (the request address, so replies go to commands, not to the list). */
  from: string;
  number: DigestNumber;
  date: Date;
  posts: readonly PostSummary[];
  /** Text under the posts (how to unsubscribe, …). */
  footer?: string;
  /** Message-ID domain. @default the list's domain */
  idDomain?: string;
}

const CRLF = '\r\n';

function crlf(text: string): string {
  return text.replace(/\r?\n/g, CRLF);
}

function head(spec: DigestSpec, contentType: string, extra: string[] = []): string {
  const title = digestTitle(spec.listName, spec.number);
  const domain = spec.idDomain ?? spec.listAddress.slice(spec.listAddress.lastIndexOf('@') + 1);
  const slug = spec.listAddress
    .slice(0, spec.listAddress.lastIndexOf('@'))
    .replace(/[^\w.-]/g, '_');
  return [
    `From: ${spec.from}`,
    `To: ${spec.listAddress}`,
    `Subject: ${encodeWordsIfNeeded(title)}`,
    `Date: ${spec.date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <digest.${slug}.v${spec.number.volume}.i${spec.number.issue}.${contentType.includes('multipart') ? 'mime' : 'plain'}@${domain}>`,
    `List-Id: <${spec.listAddress.replace('@', '.')}>`,
    'Precedence: list',
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    ...extra,
    '',
    '',
  ].join(CRLF);
}

/** The table of contents. */
export function topics(spec: DigestSpec): string {
  const lines = spec.posts.map(
    (p, i) => `   ${i + 1}. ${p.subject.replace(/\s+/g, ' ')} (${p.from.replace(/\s+/g, ' ')})`,
  );
  return [
    `Send ${spec.listName} mailing list submissions to`,
    `\t${spec.listAddress}`,
    '',
    "Today's Topics:",
    '',
    ...lines,
    '',
  ].join('\n');
}

function boundaryFor(parts: readonly Buffer[]): string {
  for (;;) {
    const b = `=_malist_${randomBytes(12).toString('hex')}`;
    if (!parts.some((p) => p.includes(b))) return b;
  }
}

function is8bit(buf: Buffer): boolean {
  return buf.some((b) => b > 0x7f);
}

/** Normalises a post's line ends to CRLF and drops an mbox From_ line or BOM in front. */
function wirePost(raw: Buffer): Buffer {
  let text = raw.toString('latin1');
  text = text.replace(/^\xef\xbb\xbf/, '').replace(/^From [^\n]*\n/, '');
  text = text.replace(/\r?\n/g, CRLF);
  if (!text.endsWith(CRLF)) text += CRLF;
  return Buffer.from(text, 'latin1');
}

export function buildMimeDigest(spec: DigestSpec): Buffer {
  const posts = spec.posts.map((p) => wirePost(p.raw));
  const toc = Buffer.from(crlf(topics(spec)), 'utf8');
  const footer = Buffer.from(crlf(spec.footer ?? ''), 'utf8');
  const outer = boundaryFor([...posts, toc, footer]);
  const inner = boundaryFor([...posts, toc, footer, Buffer.from(outer)]);
  const chunks: Buffer[] = [
    Buffer.from(head(spec, `multipart/mixed; boundary="${outer}"`)),
    Buffer.from(
      `This is a MIME digest of ${spec.posts.length} messages.${CRLF}${CRLF}--${outer}${CRLF}`,
    ),
    Buffer.from(
      `Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: 8bit${CRLF}Content-Description: Today's Topics${CRLF}${CRLF}`,
    ),
    toc,
    Buffer.from(
      `${CRLF}--${outer}${CRLF}Content-Type: multipart/digest; boundary="${inner}"${CRLF}${CRLF}`,
    ),
  ];
  for (const post of posts) {
    chunks.push(
      Buffer.from(
        `--${inner}${CRLF}Content-Type: message/rfc822${CRLF}Content-Transfer-Encoding: ${is8bit(post) ? '8bit' : '7bit'}${CRLF}${CRLF}`,
      ),
      post,
      Buffer.from(CRLF),
    );
  }
  chunks.push(Buffer.from(`--${inner}--${CRLF}`));
  if (spec.footer) {
    chunks.push(
      Buffer.from(
        `${CRLF}--${outer}${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}Content-Transfer-Encoding: 8bit${CRLF}Content-Description: Digest Footer${CRLF}${CRLF}`,
      ),
      footer,
      Buffer.from(CRLF),
    );
  }
  chunks.push(Buffer.from(`${CRLF}--${outer}--${CRLF}`));
  return Buffer.concat(chunks);
}

const SEPARATOR = '-'.repeat(30);

/** RFC 1153: a body line of exactly 30 hyphens would end the message early; it gets a blank. */
function guardBody(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => (line === SEPARATOR ? ` ${line}` : line))
    .join('\n')
    .replace(/\s+$/, '');
}

export function buildPlainDigest(spec: DigestSpec): Buffer {
  const title = digestTitle(spec.listName, spec.number);
  const parts: string[] = [topics(spec), '-'.repeat(70), ''];
  spec.posts.forEach((p, i) => {
    parts.push(
      `Message: ${i + 1}`,
      `Date: ${p.date}`,
      `From: ${p.from}`,
      `Subject: ${p.subject}`,
      ...(p.messageId ? [`Message-ID: ${p.messageId}`] : []),
      '',
      guardBody(p.text),
      '',
      SEPARATOR,
      '',
    );
  });
  if (spec.footer) parts.push(spec.footer.trimEnd(), '', SEPARATOR, '');
  parts.push(`End of ${title}`, '*'.repeat(`End of ${title}`.length), '');
  return Buffer.concat([
    Buffer.from(head(spec, 'text/plain; charset=utf-8', ['Content-Transfer-Encoding: 8bit'])),
    Buffer.from(crlf(parts.join('\n')), 'utf8'),
  ]);
}
