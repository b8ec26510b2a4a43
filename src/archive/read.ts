/**
 * A post's stored bytes, found where the index says they are: a record of a month's mbox
 * (read at its offset, mboxrd quoting undone) or a maildir file (which a mail reader may
 * have moved from new/ to cur/ and given flags). The index is checked against the file: a
 * record that is not the post the index names means the files changed under it, and the
 * error says to reindex.
 */
import { open, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, StageError } from '../errors.ts';
import { HeaderBlock } from '../mail/header-block.ts';
import { mboxRecord } from '../mail/mbox.ts';
import type { ArchivedPost } from './db.ts';
import { messageIds } from './extract.ts';
import { recordMessage } from './mbox-scan.ts';

function stale(post: ArchivedPost, why: string): StageError {
  return new StageError(
    `the archive index is out of date (${why}): run \`malist archive reindex --list ${post.list}\``,
    {
      code: ErrorCode.STORAGE,
      unit: 'archive',
      messageId: post.messageId,
    },
  );
}

async function readMaildirFile(root: string, file: string): Promise<Buffer | undefined> {
  const path = join(root, file);
  const bytes = await readFile(path).catch(() => undefined);
  if (bytes) return bytes;
  // Moved by a mail reader: new/NAME → cur/NAME:2,FLAGS (or back).
  const base = basename(path).replace(/:2,.*$/, '');
  const month = dirname(dirname(path));
  for (const sub of ['cur', 'new']) {
    const names = await readdir(join(month, sub)).catch(() => [] as string[]);
    const name = names.find((n) => n === base || n.startsWith(`${base}:`));
    if (name) return readFile(join(month, sub, name));
  }
  return undefined;
}

/** The message bytes of an archived post, as they were archived (an mbox stores LF line ends). */
export async function readStored(root: string, post: ArchivedPost): Promise<Buffer> {
  let message: Buffer;
  if (post.offset < 0) {
    const bytes = await readMaildirFile(root, post.file);
    if (!bytes) throw stale(post, `${post.file} is gone`);
    message = bytes;
  } else {
    const handle = await open(join(root, post.file), 'r').catch(() => undefined);
    if (!handle) throw stale(post, `${post.file} is gone`);
    try {
      const record = Buffer.alloc(post.length);
      const { bytesRead } = await handle.read(record, 0, post.length, post.offset);
      if (bytesRead < post.length || !record.subarray(0, 5).equals(Buffer.from('From ')))
        throw stale(post, `no record at ${post.file}:${post.offset}`);
      message = recordMessage(record);
    } finally {
      await handle.close();
    }
  }
  if (!post.messageId.endsWith('@malist.invalid')) {
    const { header } = HeaderBlock.parse(message);
    const id = messageIds(header.get('Message-ID'))[0];
    if (id !== post.messageId) throw stale(post, `${post.file} holds another message there`);
  }
  return message;
}

/**
 * Posts as one mbox (mboxrd, as `malist archive export` writes), chunk by chunk; `from` is
 * the archive root, or what reads a post's bytes (an archive store's `read`).
 */
export async function* mboxOf(
  from: string | ((post: ArchivedPost) => Promise<Buffer>),
  posts: Iterable<ArchivedPost>,
): AsyncGenerator<Buffer> {
  const read = typeof from === 'string' ? (post: ArchivedPost) => readStored(from, post) : from;
  for (const post of posts) {
    const sender = post.fromAddr || 'MAILER-DAEMON';
    yield mboxRecord(await read(post), sender, new Date(post.date));
  }
}
