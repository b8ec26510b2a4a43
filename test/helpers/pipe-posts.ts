/**
 * Posts for the many-workers tests and their count where they land: a `pipe` distributor
 * appending "MESSAGE-ID RECIPIENTS…" a line per post to `out.log` (no record of its own, as
 * sendmail keeps none: only the journal stops a repeat).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Post `i` to open@list.example.com, its Message-ID `<PREFIX-i@example.net>`. */
export function numberedPost(i: number, prefix = 'post'): string {
  return [
    'From: Poster <poster@example.net>',
    'To: open@list.example.com',
    `Subject: post ${i}`,
    `Message-ID: <${prefix}-${i}@example.net>`,
    'Date: Sat, 05 Dec 2026 12:00:00 +0000',
    '',
    `body ${i}`,
    '',
  ].join('\r\n');
}

/** The pipe distributor's `args:` that appends to `root`/out.log (a little time per post). */
export function pipeArgs(root: string): string {
  return `  args: ["-c", 'sleep 0.05; echo "$MALIST_MESSAGE_ID $MALIST_RECIPIENTS" >> ${join(root, 'out.log')}']`;
}

/** How many copies of each post each member got ("member id" → count). */
export async function pipeCopies(root: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await readFile(join(root, 'out.log'), 'utf8').catch(() => '');
  for (const line of text.split('\n').filter(Boolean)) {
    const [id, ...members] = line.split(' ');
    for (const member of members) {
      const key = `${member} ${id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}
