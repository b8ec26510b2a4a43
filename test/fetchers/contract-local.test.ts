/** The fetcher contract for the local fetchers: maildir (removable) and stdin (one-shot). */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import createMaildirFetcher from '../../src/fetchers/maildir.ts';
import createStdinFetcher from '../../src/fetchers/stdin.ts';
import { fetcherContract } from './contract.ts';

fetcherContract('maildir', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-contract-maildir-'));
  for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(dir, sub));
  return {
    async seed(messages) {
      for (const [i, m] of messages.entries()) {
        await writeFile(join(dir, 'new', `${1000 + i}.M${i}P1.test`), m);
      }
    },
    make: () => createMaildirFetcher({ dir }),
    remaining: async () =>
      (await readdir(join(dir, 'new'))).length + (await readdir(join(dir, 'cur'))).length,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

// Read through a stream, and the mail already read (`malist receive`, `malist lmtp`).
for (const [name, given] of [
  ['stdin', (mail: Buffer) => ({ input: Readable.from([mail]) })],
  ['stdin (raw)', (mail: Buffer) => ({ raw: mail })],
] as const)
  fetcherContract(
    name,
    async () => {
      let mail = Buffer.alloc(0);
      return {
        async seed(messages) {
          mail = Buffer.concat(messages);
        },
        make: () => createStdinFetcher(given(mail)),
        remaining: async () => 0,
      };
    },
    { removable: false, maxMessages: 1 },
  );

describe('stdin fetcher size limit', () => {
  it('refuses a mail over maxMailSize, read through a stream or given whole', async () => {
    const raw = Buffer.from('Subject: big\r\n\r\n'.concat('x'.repeat(200)));
    for (const fetcher of [
      createStdinFetcher({ raw, maxMailSize: 100 }),
      createStdinFetcher({ input: Readable.from([raw]), maxMailSize: 100 }),
    ])
      await expect(fetcher.fetch()).rejects.toThrow('message larger than maxMailSize (100 bytes)');
  });
});
