/**
 * Vitest global setup: the whole run's temporary files go under one directory of its own
 * (TMPDIR, which os.tmpdir() and every child process read), removed when the run ends.
 * Suites create hundreds of temp dirs; left behind they slow the disk (on these machines a
 * new file in a crowded directory costs up to a millisecond) and fill /tmp.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'malist-test-'));
  // Like /tmp itself: Dovecot's and Postfix's unprivileged processes must reach the
  // directories the tests make for them inside it.
  chmodSync(root, 0o1777);
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    // MALIST_KEEP_TMP=1 keeps everything for a post-mortem.
    if (process.env.MALIST_KEEP_TMP !== '1') rmSync(root, { recursive: true, force: true });
    else process.stderr.write(`temporary files kept in ${root}\n`);
  };
}
