/**
 * The demo behind the embedded default: whenever the demo inbox is empty it is seeded with
 * the example posts of `examples/posts/*.eml`, so `npm start` always has mail to work on —
 * and running it again shows the journal recognising posts already handled.
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: two folders above src/config/, as above dist/config/ in the build. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The example posts shipped with malist. */
export const EXAMPLE_POSTS = join(ROOT, 'examples', 'posts');

/** Copies the example posts into `inbox/new/` when the maildir holds no mail; the number copied. */
export async function seedDemoInbox(inbox: string, posts = EXAMPLE_POSTS): Promise<number> {
  for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(inbox, sub), { recursive: true });
  const present = [
    ...(await readdir(join(inbox, 'new'))),
    ...(await readdir(join(inbox, 'cur'))),
  ].filter((n) => !n.startsWith('.'));
  if (present.length > 0) return 0;
  const files = (await readdir(posts)).filter((n) => n.endsWith('.eml')).sort();
  const stamp = Math.floor(Date.now() / 1000);
  const host = hostname().replace(/[/:]/g, '_');
  for (const [i, name] of files.entries()) {
    // Maildir names sort by delivery time: keep the posts in their file order.
    const target = `${stamp}.M${String(i).padStart(3, '0')}P${process.pid}.${host}`;
    await copyFile(join(posts, name), join(inbox, 'new', target));
  }
  return files.length;
}
