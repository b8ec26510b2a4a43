/**
 * An archived post as a page shows it: its readable parts in order (plain text as runs of
 * own and quoted lines, so quotes fold; an HTML-only part sanitised for a sandboxed iframe,
 * with its text beside it; a forwarded message inline with its own parts) and its
 * attachments, numbered, each downloadable with its type and a safe `Content-Disposition`.
 * Of a multipart/alternative the plain text is shown when there is one (the files of the
 * other versions, an HTML version's images, are listed). Pure: never throws.
 */
import { HeaderBlock } from '../mail/header-block.ts';
import type { MimePart } from '../mail/mime-tree.ts';
import { parseMime } from '../mail/mime-tree.ts';
import {
  chooseAlternative,
  isAttachment,
  mimeTree,
  partBytes,
  partFilename,
  partText,
} from './extract.ts';
import { htmlToText } from './html-text.ts';
import { quoteBlocks, type TextBlock } from './quote.ts';
import { safeHtml } from './sanitize.ts';

export type ShownPart =
  | { kind: 'text'; blocks: TextBlock[] }
  /** `html` is sanitised (sanitize.ts); show it framed, or `text` where frames are unwelcome. */
  | { kind: 'html'; html: string; text: TextBlock[] }
  | { kind: 'message'; from: string; subject: string; date: string; parts: ShownPart[] };

export interface ShownAttachment {
  /** Its number in the post, from 0 (what a download link names). */
  index: number;
  /** The name offered for saving (never a path, never empty). */
  filename: string;
  type: string;
  /** Decoded size in bytes. */
  size: number;
}

export interface ShownPost {
  parts: ShownPart[];
  attachments: ShownAttachment[];
}

export interface Download {
  filename: string;
  type: string;
  bytes: Buffer;
  /** The response headers a download is served with. */
  headers: Record<string, string>;
}

interface Found {
  raw: Buffer;
  part: MimePart;
}

interface Walk {
  /** False when only the attachments are wanted (a download). */
  render: boolean;
  attachments: Found[];
}

function walk(raw: Buffer, part: MimePart, into: Walk, depth: number): ShownPart[] {
  if (depth > 20) return [];
  const mime = part.type.mime;
  if (mime === 'multipart/alternative' && part.children.length > 0) {
    const chosen = chooseAlternative(part);
    const shown = chosen ? walk(raw, chosen, into, depth + 1) : [];
    // The other versions are not shown, but their files (an HTML version's images) are listed.
    const quiet = { ...into, render: false };
    for (const other of part.children)
      if (other !== chosen && other.children.length > 0) walk(raw, other, quiet, depth + 1);
    return shown;
  }
  if (mime.startsWith('multipart/') && part.children.length > 0)
    return part.children.flatMap((child) => walk(raw, child, into, depth + 1));
  if (mime === 'message/rfc822' && !isAttachment(part)) {
    const inner = partBytes(raw, part);
    const { header, bodyStart } = HeaderBlock.parse(inner);
    const body = inner.subarray(bodyStart);
    const parts = walk(body, parseMime(header, body), into, depth + 1);
    const field = (name: string) => (into.render ? (header.getDecoded(name) ?? '') : '');
    return [
      {
        kind: 'message',
        from: field('From'),
        subject: field('Subject'),
        date: field('Date'),
        parts,
      },
    ];
  }
  if (isAttachment(part)) {
    into.attachments.push({ raw, part });
    return [];
  }
  if (!into.render) return [];
  if (mime === 'text/html') {
    const html = partText(raw, part);
    return [{ kind: 'html', html: safeHtml(html), text: quoteBlocks(htmlToText(html)) }];
  }
  return [{ kind: 'text', blocks: quoteBlocks(partText(raw, part)) }];
}

/** A name safe to offer for saving: no directories, no controls, not empty. */
export function downloadName(name: string | undefined, index: number): string {
  const base = (name ?? '')
    .split(/[/\\]/)
    .pop()!
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .replace(/^[.\s]+|\s+$/g, '')
    .slice(0, 200);
  return base || `attachment-${index + 1}`;
}

/** `Content-Disposition: attachment` with an ASCII name and the exact one (RFC 6266). */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const exact = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${exact}`;
}

/** A declared type when it is one; else a download of unknown bytes. */
function safeType(mime: string): string {
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(mime)
    ? mime
    : 'application/octet-stream';
}

/** The headers a download is served with: always saved, never sniffed, never run. */
export function downloadHeaders(filename: string, type: string): Record<string, string> {
  return {
    'Content-Type': safeType(type),
    'Content-Disposition': contentDisposition(filename),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
  };
}

/** What a page shows of a post (its stored bytes). */
export function showPost(raw: Buffer): ShownPost {
  const { root, body } = mimeTree(raw);
  const into: Walk = { render: true, attachments: [] };
  const parts = walk(body, root, into, 0);
  return {
    parts,
    attachments: into.attachments.map(({ raw: bytes, part }, index) => ({
      index,
      filename: downloadName(partFilename(part), index),
      type: safeType(part.type.mime),
      size: partBytes(bytes, part).length,
    })),
  };
}

/** Attachment `index` of a post (as `showPost` numbers them), decoded; undefined if none. */
export function attachmentOf(raw: Buffer, index: number): Download | undefined {
  const { root, body } = mimeTree(raw);
  const into: Walk = { render: false, attachments: [] };
  walk(body, root, into, 0);
  const found = into.attachments[index];
  if (!found) return undefined;
  const filename = downloadName(partFilename(found.part), index);
  const type = safeType(found.part.type.mime);
  return {
    filename,
    type,
    bytes: partBytes(found.raw, found.part),
    headers: downloadHeaders(filename, type),
  };
}
