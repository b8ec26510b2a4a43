/**
 * What the archive pages will call, on real archive mail (test/fixtures/archive and the
 * corpus, MANIFEST.tsv beside each): a post shown with its quotes folded and its attachments
 * downloadable under safe headers, a forwarded message inline, a hostile HTML-only post
 * sanitised, a month's mbox that gives every post back byte for byte, and the Atom feed
 * read by Python's XML parser (an independent reader).
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { listFeed } from '../../src/archive/atom.ts';
import { monthPosts, months } from '../../src/archive/browse.ts';
import type { ArchiveIndex } from '../../src/archive/db.ts';
import { importArchive } from '../../src/archive/import.ts';
import { scanMbox } from '../../src/archive/mbox-scan.ts';
import { attachmentOf, contentDisposition, showPost } from '../../src/archive/message.ts';
import { mboxOf, readStored } from '../../src/archive/read.ts';
import { framedDocument, HTML_FRAME_CSP, safeHtml } from '../../src/archive/sanitize.ts';
import { filesArchive } from '../../src/archive/store.ts';
import { freshIndexes } from '../helpers/archive-index.ts';

const ARCHIVE = new URL('../fixtures/archive/', import.meta.url).pathname;
const CORPUS = new URL('../fixtures/corpus/', import.meta.url).pathname;
const fresh = freshIndexes('show');

const fixture = (path: string) => readFile(path);

describe('a post as a page shows it', () => {
  it('a reply: own words shown, the attribution and the quote as one folded run', async () => {
    const shown = showPost(await fixture(join(ARCHIVE, 'intl/03-reply-french.eml')));
    expect(shown.attachments).toEqual([]);
    const [part] = shown.parts;
    expect(part?.kind).toBe('text');
    const blocks = part?.kind === 'text' ? part.blocks : [];
    expect(blocks.map((b) => b.quoted)).toEqual([false, true]);
    expect(blocks[1]!.text).toMatch(/a écrit :\n[\s\S]*^> Hello this is a test/m);
    expect(blocks[0]!.text).not.toContain('>');
  });

  it('a PDF attachment: listed with its type and size, downloaded whole under safe headers', async () => {
    const raw = await fixture(join(CORPUS, '023-pdf-attachment-mbox-from-8bit-subject.eml'));
    const shown = showPost(raw);
    expect(shown.attachments).toEqual([
      { index: 0, filename: 'broken.pdf', type: 'application/pdf', size: expect.any(Number) },
    ]);
    const download = attachmentOf(raw, 0)!;
    const parsed = await simpleParser(raw);
    const original = parsed.attachments.find((a) => a.filename === 'broken.pdf')!;
    expect(download.bytes.equals(original.content)).toBe(true);
    expect(shown.attachments[0]!.size).toBe(original.content.length);
    expect(download.headers).toEqual({
      'Content-Type': 'application/pdf',
      'Content-Disposition': `attachment; filename="broken.pdf"; filename*=UTF-8''broken.pdf`,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': 'sandbox',
    });
    expect(attachmentOf(raw, 1)).toBeUndefined();
  });

  it('a forwarded message is shown inline with its parts; its PDF is attachment 0', async () => {
    const raw = await fixture(join(CORPUS, '024-rfc822-attachment-with-pdf.eml'));
    const shown = showPost(raw);
    const inner = shown.parts.find((p) => p.kind === 'message');
    expect(inner?.kind === 'message' && inner.subject).toBe('Another PDF');
    expect(shown.attachments.map((a) => [a.filename, a.type])).toEqual([
      ['broken.pdf', 'application/pdf'],
    ]);
    expect(attachmentOf(raw, 0)!.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('plain text shown of an alternative; the HTML version’s images still listed, names decoded', async () => {
    const raw = await fixture(join(CORPUS, '026-dkim-inline-images-watch-html.eml'));
    const shown = showPost(raw);
    expect(shown.parts.map((p) => p.kind)).toEqual(['text']);
    expect(shown.attachments.map((a) => [a.filename, a.type])).toEqual([
      ['image.png', 'image/png'],
      ['nyan cat ✔.gif', 'image/gif'],
      ['notes.txt', 'text/plain'],
    ]);
    const gif = attachmentOf(raw, 1)!;
    expect(gif.bytes.subarray(0, 4).toString('latin1')).toBe('GIF8');
    expect(gif.headers['Content-Disposition']).toBe(
      `attachment; filename="nyan cat _.gif"; filename*=UTF-8''nyan%20cat%20%E2%9C%94.gif`,
    );
  });

  it('a file name is never a path, a header break or empty', () => {
    expect(contentDisposition('a"b\\c%d.txt')).toBe(
      `attachment; filename="a_b_c_d.txt"; filename*=UTF-8''a%22b%5Cc%25d.txt`,
    );
    const hostile = Buffer.from(
      'From: x@example.org\nMessage-ID: <h@example.org>\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nhi\n--B\nContent-Type: text/html\nContent-Disposition: attachment; filename="../../etc/passwd\r\nX-Evil: 1"\n\n<script>alert(1)</script>\n--B\nContent-Type: bogus\nContent-Disposition: attachment\n\nzz\n--B--\n',
    );
    const shown = showPost(hostile);
    expect(shown.attachments.map((a) => [a.filename, a.type])).toEqual([
      ['passwd', 'text/html'],
      ['attachment-2', 'text/plain'],
    ]);
    // An HTML attachment is saved, never rendered by the archive's origin.
    expect(attachmentOf(hostile, 0)!.headers['Content-Security-Policy']).toBe('sandbox');
    expect(attachmentOf(hostile, 0)!.headers['Content-Disposition']).toMatch(/^attachment;/);
  });
});

describe('an HTML-only post', () => {
  const HOSTILE = `<html><head><title>t</title><style>body{background:url(https://tracker.example/s)}</style>
<script>document.title='pwned'</script><meta http-equiv="refresh" content="0;url=https://evil.example/"></head>
<body onload="alert(1)"><p style="color:red" onclick="alert(2)">Hello <b>members</b>,</p>
<a href="javascript:alert(3)">click</a> <a href="//evil.example/x">proto</a> <a href="https://example.org/ok">ok</a>
<img src="https://tracker.example/pixel.gif" alt="pixel"><img src="data:image/png;base64,iVBORw0KGgo=" alt="inline">
<img src=x onerror="alert(4)"><svg><script>alert(5)</script></svg><iframe src="https://evil.example/"></iframe>
<form action="https://evil.example/"><input name="p"></form><object data="x.swf"></object>
<blockquote>On Monday Bob wrote:<br>the quoted words</blockquote><p>Our own closing words.</p>
<math><mi xlink:href="javascript:alert(6)">m</mi></math><noscript><p title="</noscript><img src=x onerror=alert(7)>"></p></noscript>
</body></html>`;
  const post = Buffer.from(
    `From: Mallory <mallory@example.org>\nMessage-ID: <html-only@example.org>\nSubject: hostile\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n${HOSTILE}\n`,
  );

  it('is sanitised: nothing that runs, loads or navigates is left; the words and safe links are', () => {
    const [part] = showPost(post).parts;
    expect(part?.kind).toBe('html');
    const html = part?.kind === 'html' ? part.html : '';
    expect(html).not.toMatch(/<(script|style|iframe|form|input|object|svg|math|meta|noscript)\b/i);
    expect(html).not.toMatch(/\son\w+\s*=/i);
    expect(html).not.toMatch(/javascript:|\/\/evil\.example|tracker\.example|style=/i);
    expect(html).toContain('Hello <b>members</b>');
    expect(html).toContain(
      '<a href="https://example.org/ok" rel="noopener noreferrer nofollow" target="_blank">ok</a>',
    );
    expect(html).toContain('<img src="data:image/png;base64,iVBORw0KGgo=" alt="inline" />');
    expect(html).toContain('<blockquote>');
    // Its text, for readers without frames: the quote folded apart from the own words.
    const text = part?.kind === 'html' ? part.text : [];
    expect(text.filter((b) => b.quoted).map((b) => b.text)).toEqual([
      '> On Monday Bob wrote:\n> the quoted words',
    ]);
    expect(
      text
        .filter((b) => !b.quoted)
        .map((b) => b.text)
        .join('\n'),
    ).toContain('Our own closing words.');
  });

  it('the sanitiser is total and idempotent; the frame document carries the CSP', () => {
    const once = safeHtml(HOSTILE);
    expect(safeHtml(once)).toBe(once);
    expect(safeHtml('<p>unclosed <b>bold <a href="https://x.example/">a')).toBe(
      '<p>unclosed <b>bold <a href="https://x.example/" rel="noopener noreferrer nofollow" target="_blank">a</a></b></p>',
    );
    const doc = framedDocument(once);
    expect(doc).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${HTML_FRAME_CSP}">`,
    );
    expect(HTML_FRAME_CSP).toMatch(/default-src 'none'/);
    expect(HTML_FRAME_CSP).not.toMatch(/script-src/);
  });
});

describe('downloads and the feed', () => {
  async function archive(): Promise<ArchiveIndex> {
    const index = await fresh();
    const source = join(index.root, 'source');
    await mkdir(source);
    for (const f of [
      '023-pdf-attachment-mbox-from-8bit-subject.eml',
      '024-rfc822-attachment-with-pdf.eml',
    ])
      await copyFile(join(CORPUS, f), join(source, f));
    await importArchive(index, { list: 'mixed', source });
    await importArchive(index, { list: 'magick', source: join(ARCHIVE, 'magick-2000-02.mbox') });
    await importArchive(index, { list: 'intl', source: join(ARCHIVE, 'intl') });
    return index;
  }

  it("each month's mbox gives every post back byte for byte, and mailparser reads them all", async () => {
    const index = await archive();
    for (const list of ['magick', 'intl', 'mixed']) {
      for (const { month, posts } of months(index, list)) {
        const chunks: Buffer[] = [];
        const listed = monthPosts(index, list, month);
        for await (const chunk of mboxOf(index.root, listed)) chunks.push(chunk);
        const file = join(index.root, `${list}-${month}.mbox`);
        await writeFile(file, Buffer.concat(chunks));
        const read: Buffer[] = [];
        for await (const r of scanMbox(file, 0, { strict: true })) read.push(r.message);
        expect(read.length, `${list} ${month}`).toBe(posts);
        for (const [i, message] of read.entries()) {
          expect(message.equals(await readStored(index.root, listed[i]!))).toBe(true);
          const parsed = await simpleParser(message);
          if (!listed[i]!.messageId.endsWith('@malist.invalid'))
            expect(parsed.messageId).toBe(`<${listed[i]!.messageId}>`);
        }
      }
    }
  });

  it('the Atom feed: newest first, permalinks, names without addresses, own words as summary', async () => {
    const index = await archive();
    const base = 'https://lists.example.com/archive/magick/';
    const xml = await listFeed(filesArchive(index, 'mbox', true), 'magick', {
      title: 'magick <archive> & friends',
      archiveUrl: base,
      selfUrl: `${base}feed.atom`,
      permalinkOf: (id) => `${base}m/${encodeURIComponent(id)}`,
    });
    const python = spawnSync(
      'python3',
      [
        '-c',
        `import sys, json, xml.etree.ElementTree as ET
ns = {'a': 'http://www.w3.org/2005/Atom'}
feed = ET.fromstring(sys.stdin.buffer.read())
print(json.dumps({
  'title': feed.findtext('a:title', namespaces=ns),
  'entries': [{'id': e.findtext('a:id', namespaces=ns), 'title': e.findtext('a:title', namespaces=ns),
    'author': e.findtext('a:author/a:name', namespaces=ns), 'updated': e.findtext('a:updated', namespaces=ns),
    'summary': e.findtext('a:summary', namespaces=ns)} for e in feed.findall('a:entry', ns)]}))`,
      ],
      { input: xml, encoding: 'utf8' },
    );
    if (python.error || python.status !== 0)
      throw new Error(`python3 could not read the feed: ${python.stderr || python.error}`);
    const feed = JSON.parse(python.stdout) as {
      title: string;
      entries: { id: string; title: string; author: string; updated: string; summary: string }[];
    };
    expect(feed.title).toBe('magick <archive> & friends');
    expect(feed.entries).toHaveLength(5);
    const dates = feed.entries.map((e) => Date.parse(e.updated));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    expect(feed.entries.map((e) => e.title)).toContain('Transparency question');
    for (const e of feed.entries) {
      expect(e.id).toMatch(/^https:\/\/lists\.example\.com\/archive\/magick\/m\/.+%40/);
      expect(e.author).not.toContain('@');
      expect(e.summary.length).toBeGreaterThan(20);
      expect(e.summary).not.toMatch(/^>|\n> /);
    }
  });
});
