/**
 * The words of an HTML part, for the index and for posts shown as text: scripts, styles and
 * comments dropped, block ends as line breaks, entities decoded, and what sits inside a
 * `<blockquote>` given a `> ` per level, so the quote splitter sees a reply's quotes as
 * quotes. Not a renderer (the pages sanitise HTML with a real parser): fast and total on
 * any input. Pure.
 */
import { htmlEntities } from '../mail/lazy.ts';

const DROP = /<(script|style|head|title|template)\b[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->/gi;
const BREAK = /<(br|\/p|\/div|\/li|\/tr|\/h[1-6]|\/pre|\/table|hr)\b[^>]*>/gi;
const QUOTE = /(<blockquote\b[^>]*>|<\/blockquote\s*>)/i;

function flatten(html: string): string {
  return htmlEntities()
    .decodeHTML(html.replace(BREAK, '\n').replace(/<[^>]*>/g, ''))
    .replace(/\u00a0/g, ' ')
    .replace(/[ \t]+/g, ' ');
}

/** The text of an HTML document or fragment. */
export function htmlToText(html: string): string {
  const pieces = html.replace(DROP, '').split(QUOTE);
  let depth = 0;
  const out: string[] = [];
  for (const piece of pieces) {
    if (/^<blockquote/i.test(piece)) {
      depth++;
      out.push('\n');
      continue;
    }
    if (/^<\/blockquote/i.test(piece)) {
      depth = Math.max(0, depth - 1);
      out.push('\n');
      continue;
    }
    const text = flatten(piece);
    const prefix = '> '.repeat(depth);
    out.push(depth === 0 ? text : text.replace(/^(?=.*\S)/gm, prefix));
  }
  return out
    .join('')
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
