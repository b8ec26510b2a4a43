/**
 * What `malist held list` and `malist held show ID` print: a table whose cut cells end in
 * `…` (whole with `--wide`), a post's header block, reason, size and first body lines, and
 * the JSON documents of both for scripts.
 */
import type { StoredMeta } from '../state/mail-store.ts';
import { columns, cut, printable } from './table.ts';

export interface HeldRow {
  id: string;
  list: string;
  /** When it was held (ISO). */
  held_at: string;
  age_seconds: number;
  from: string | null;
  subject: string | null;
  message_id: string | null;
  /** Why it was held, whole. */
  reason: string;
  /** The unit that held it (posting-policy, max-size, …). */
  unit: string;
}

export function heldRow(meta: StoredMeta, list: string, now: number): HeldRow {
  return {
    id: meta.id,
    list,
    held_at: meta.at,
    age_seconds: Math.max(0, Math.round((now - Date.parse(meta.at)) / 1000)),
    from: meta.from ?? null,
    subject: meta.subject ?? null,
    message_id: meta.messageId ?? null,
    reason: meta.reason,
    unit: meta.unit,
  };
}

function age(seconds: number): string {
  const h = Math.round(seconds / 3600);
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  return h < 48 ? `${h}h` : `${Math.round(h / 24)}d`;
}

/** The table; FROM and SUBJECT cut at 40, REASON at 60, with `…` — none cut when `wide`. */
export function formatHeldTable(rows: HeldRow[], wide: boolean): string {
  const table = [['ID', 'LIST', 'AGE', 'FROM', 'SUBJECT', 'REASON']];
  const width = (n: number) => (wide ? undefined : n);
  for (const r of rows)
    table.push([
      wide ? r.id : r.id.slice(0, 16),
      r.list,
      age(r.age_seconds),
      cut(r.from ?? '', width(40)),
      cut(r.subject ?? '', width(40)),
      cut(r.reason, width(60)),
    ]);
  return columns(table);
}

export interface HeldPost extends HeldRow {
  /** Bytes of the post as it arrived. */
  size: number;
  /** Already decided (approved, rejected, discarded, expired): kept for a while. */
  decided: boolean;
  /** The header block, unfolded lines as they came. */
  headers: string[];
  /** The first lines of the body, as bytes read as UTF-8 (MIME not decoded). */
  body_lines: string[];
  /** Body lines not shown. */
  more_lines: number;
}

/** A held post for `held show`: its header block and its first `lines` body lines. */
export function heldPost(row: HeldRow, raw: Buffer, decided: boolean, lines: number): HeldPost {
  const text = raw.toString('utf8');
  const split = /\r?\n\r?\n/.exec(text);
  const head = split ? text.slice(0, split.index) : text;
  const body = split ? text.slice(split.index + split[0].length) : '';
  const bodyLines = body.split(/\r?\n/);
  if (bodyLines.at(-1) === '') bodyLines.pop();
  return {
    ...row,
    size: raw.length,
    decided,
    headers: head.split(/\r?\n/),
    body_lines: bodyLines.slice(0, lines),
    more_lines: Math.max(0, bodyLines.length - lines),
  };
}

/** `held show` as text: what a moderator needs to decide, and how to. */
export function formatHeldPost(post: HeldPost): string {
  const out = [
    `ID:      ${post.id}`,
    `List:    ${post.list}`,
    `Held:    ${post.held_at} (${age(post.age_seconds)} ago) by ${post.unit}${post.decided ? '; already decided' : ''}`,
    `Reason:  ${post.reason}`,
    `Size:    ${post.size} bytes`,
    '',
    ...post.headers,
    '',
    ...post.body_lines,
  ];
  if (post.more_lines > 0) out.push(`[… ${post.more_lines} more lines]`);
  if (!post.decided)
    out.push('', `malist held approve|reject|discard ${post.id.slice(0, 16)} decides it.`);
  return `${out.map(printable).join('\n')}\n`;
}
