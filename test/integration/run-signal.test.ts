/**
 * `malist watch` stops on SIGTERM after the mail in hand: run() takes the watcher's
 * AbortSignal and hands it to play(), which fetches nothing more once it is aborted.
 * Here a custom pipeline unit aborts while the first of three mails is processed.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import run from '../../src/cli/run.ts';
import { inboxConfig } from './inbox-config.ts';

describe('malist run with an AbortSignal', () => {
  it('finishes the mail in hand and leaves the rest at the source', async () => {
    const dir = await inboxConfig();
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
    expect(await readdir(join(dir, 'out/amy@example.org/new'))).toHaveLength(1);
    expect(await readdir(join(dir, 'inbox/new'))).toHaveLength(2);
  }, 30_000);
});
