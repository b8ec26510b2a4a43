/**
 * A list's Atom feed (RFC 4287): its latest posts, newest first, each with its permalink as
 * id and link, its author's name (addresses are left out, as pipermail hides them from
 * harvesters) and the first lines of its own words as the summary (quotes and signature
 * left out). The caller gives the URLs (the archive page, the feed's own, each permalink),
 * so the feed is the same behind any front. `atomFeed` is pure; `listFeed` reads the posts.
 */
import { escapeUTF8 } from 'entities';
import type { ArchivedPost } from './db.ts';
import { extractPost } from './extract.ts';
import type { ArchiveStore } from './store.ts';

export interface FeedEntry {
  post: ArchivedPost;
  /** The post's permalink (its id and link). */
  url: string;
  summary: string;
}

export interface Feed {
  title: string;
  /** The list's archive page (the feed's id and alternate link). */
  archiveUrl: string;
  /** Where the feed itself is served. */
  selfUrl: string;
  entries: FeedEntry[];
}

/** Longest summary, characters. */
const SUMMARY = 600;

/** Text for XML 1.0: escaped, and without the characters XML cannot carry. */
function xml(text: string): string {
  return escapeUTF8(
    text.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, ''),
  );
}

const iso = (ms: number) => new Date(ms).toISOString();

function entry(e: FeedEntry): string {
  const name = e.post.fromName || e.post.fromAddr.split('@')[0] || 'unknown';
  return [
    '<entry>',
    `<id>${xml(e.url)}</id>`,
    `<title type="text">${xml(e.post.subject || '(no subject)')}</title>`,
    `<link rel="alternate" type="text/html" href="${xml(e.url)}"/>`,
    `<author><name>${xml(name)}</name></author>`,
    `<published>${iso(e.post.date)}</published>`,
    `<updated>${iso(e.post.date)}</updated>`,
    `<summary type="text">${xml(e.summary)}</summary>`,
    '</entry>',
  ].join('');
}

/** The feed as an Atom document. */
export function atomFeed(feed: Feed): string {
  const updated = Math.max(0, ...feed.entries.map((e) => e.post.date));
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<id>${xml(feed.archiveUrl)}</id>`,
    `<title type="text">${xml(feed.title)}</title>`,
    `<link rel="alternate" type="text/html" href="${xml(feed.archiveUrl)}"/>`,
    `<link rel="self" type="application/atom+xml" href="${xml(feed.selfUrl)}"/>`,
    `<updated>${iso(updated)}</updated>`,
    '<generator>malist</generator>',
    ...feed.entries.map(entry),
    '</feed>',
    '',
  ].join('\n');
}

/** A summary of a post's own words: blank runs folded, cut at a word near `SUMMARY`. */
export function summaryOf(raw: Buffer): string {
  const own = extractPost(raw).text.own.replace(/\s+/g, ' ').trim();
  if (own.length <= SUMMARY) return own;
  const cut = own.slice(0, SUMMARY);
  return `${cut.slice(0, Math.max(cut.lastIndexOf(' '), SUMMARY / 2))} …`;
}

/** A list's feed of its latest `limit` posts; `permalinkOf` makes each post's URL. */
export async function listFeed(
  store: ArchiveStore,
  list: string,
  feed: Omit<Feed, 'entries'> & { permalinkOf: (messageId: string) => string; limit?: number },
): Promise<string> {
  const entries: FeedEntry[] = [];
  for (const post of await store.latestPosts(list, feed.limit ?? 30)) {
    const summary = await store.read(post).then(summaryOf, () => '');
    entries.push({ post, url: feed.permalinkOf(post.messageId), summary });
  }
  return atomFeed({
    title: feed.title,
    archiveUrl: feed.archiveUrl,
    selfUrl: feed.selfUrl,
    entries,
  });
}
