/**
 * `malist watch` stops on SIGTERM after the mail in hand: run() takes the watcher's
 * AbortSignal and hands it to play(), which fetches nothing more once it is aborted.
 * Here a custom pipeline unit aborts while the first of three mails is processed.
 */
import { appendFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import run from '../../src/cli/run.ts';
import { inboxConfig } from './inbox-config.ts';

/** Three posts to a list whose unit aborts the run; what was delivered and what is left. */
async function abortedRun(concurrency: number): Promise<{ delivered: number; left: number }> {
  const dir = await inboxConfig();
  await appendFile(join(dir, 'malist.yaml'), `concurrency: ${concurrency}\n`);
  await writeFile(
    join(dir, 'lists/blue.yaml'),
    'address: blue@list.example.com\nposting: open\nmembers: [amy@example.org]\npipeline: [./stop.mjs, envelope]\n',
  );
  // The unit is plain JavaScript: it runs where the lists are, outside the source tree.
  await writeFile(
    join(dir, 'lists/stop.mjs'),
    'export default () => ({ name: "stop", async process(mail) { globalThis.__malistStop?.(); return mail; } });\n',
  );
  for (const n of [1, 2, 3])
    await writeFile(
      join(dir, 'inbox/new', `${n}.eml`),
      `From: p@example.org\r\nTo: blue@list.example.com\r\nSubject: ${n}\r\nMessage-ID: <stop-${n}@example.org>\r\n\r\nx\r\n`,
    );
  const controller = new AbortController();
  (globalThis as { __malistStop?: () => void }).__malistStop = () => controller.abort();
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    expect(await run(['--config', dir, '--quiet'], { signal: controller.signal })).toBe(0);
  } finally {
    out.mockRestore();
    delete (globalThis as { __malistStop?: () => void }).__malistStop;
  }
  return {
    delivered: (await readdir(join(dir, 'out/amy@example.org/new'))).length,
    left: (await readdir(join(dir, 'inbox/new'))).length,
  };
}

describe('malist run with an AbortSignal', () => {
  it('finishes the mail in hand and leaves the rest at the source', async () => {
    expect(await abortedRun(1)).toEqual({ delivered: 1, left: 2 });
  });

  it('with concurrency, finishes the mails in hand (at most that many); nothing is lost', async () => {
    const { delivered, left } = await abortedRun(2);
    expect(delivered).toBeGreaterThanOrEqual(1);
    expect(delivered).toBeLessThanOrEqual(2);
    expect(delivered + left).toBe(3);
  });
});
