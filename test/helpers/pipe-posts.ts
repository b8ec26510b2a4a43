/**
 * Posts for the many-workers tests and their count where they land: a `pipe` distributor
 * appending "MESSAGE-ID RECIPIENTS…" a line per post to `out.log` (no record of its own, as
 * sendmail keeps none: only the journal stops a repeat).
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/** The members of open@list.example.com in these tests. */
export const PIPE_MEMBERS = ['ann@example.org', 'bob@example.org'];

/** A temporary root with lists/open.yaml: open@list.example.com, open posting, PIPE_MEMBERS. */
export async function openListRoot(prefix: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(root, 'lists'));
  await writeFile(
    join(root, 'lists/open.yaml'),
    `address: open@list.example.com\nposting: open\nmembers: [${PIPE_MEMBERS.join(', ')}]\n`,
  );
  return root;
}

/**
 * One directory a host (worker) under `root`, each with its malist.yaml: `state_dir: state`
 * (each its own), the lists in `root`/lists, the storage line, then `lines(dir)`; returns
 * the directories.
 */
export async function hostConfigs(
  root: string,
  names: readonly string[],
  storage: 'postgres' | 'files',
  lines: (dir: string) => string[],
): Promise<string[]> {
  const dirs: string[] = [];
  for (const name of names) {
    const dir = join(root, name);
    await mkdir(dir);
    await writeFile(
      join(dir, 'malist.yaml'),
      [
        'state_dir: state',
        'lists_dir: ../lists',
        storage === 'postgres'
          ? 'storage: { type: postgres, url_env: DATABASE_URL }'
          : 'storage: { type: files }',
        ...lines(dir),
        '',
      ].join('\n'),
    );
    dirs.push(dir);
  }
  return dirs;
}
