/** What the hostile-mail command-line tests share: a mail's text, and a maildir recipient's inbox. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** No envelope recipient from the test runner's environment: routing is the test's choice. */
export const NO_ENVELOPE = { ORIGINAL_RECIPIENT: '', RECIPIENT: '', LOCAL: '', DOMAIN: '' };

/** A CRLF mail with these header fields (a fixed Date first) and body. */
export function mail(headers: Record<string, string>, body = 'Hello.\n'): string {
  const lines = Object.entries({ Date: 'Mon, 23 Nov 2026 10:00:00 +0000', ...headers }).map(
    ([k, v]) => `${k}: ${v}`,
  );
  return `${lines.join('\r\n')}\r\n\r\n${body.replace(/\r?\n/g, '\r\n')}`;
}

/** The mails the maildir distributor delivered to `who` under DIR/out, in name order. */
export async function inbox(dir: string, who: string): Promise<string[]> {
  const box = join(dir, 'out', who, 'new');
  const files = (await readdir(box).catch(() => [] as string[])).sort();
  return Promise.all(files.map((f) => readFile(join(box, f), 'utf8')));
}
