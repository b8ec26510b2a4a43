/**
 * A forged, tampered, cross-list or replayed confirmation/moderation token does nothing:
 * property-tested on the token store, and end to end through the request handler (the
 * member store is the witness).
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createRequestHandler from '../../src/commands/request.ts';
import type { ListSettings } from '../../src/list/settings.ts';
import { createListMail } from '../../src/mail/list-mail.ts';
import createMemoryMemberStore from '../../src/members/memory.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import type { ListMail } from '../../src/types.ts';

const RUNS = Number(process.env.MALIST_PROPERTY_RUNS ?? 300);
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'malist-hostile-tokens-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('token store', () => {
  it('no string but the token itself (case and blanks aside) finds the pending action', async () => {
    const store = new TokenStore(join(root, 'prop'), Buffer.alloc(32, 3));
    const token = await store.create('subscribe', 'red', { address: 'a@x.example' }, 60_000);
    const hex = fc.constantFrom(...'0123456789abcdef');
    const mutated = fc.oneof(
      // one character changed
      fc
        .tuple(fc.nat(token.length - 1), hex)
        .map(([i, c]) => token.slice(0, i) + c + token.slice(i + 1)),
      // truncated, extended, the halves swapped, the MAC of another token
      fc.nat(token.length - 1).map((i) => token.slice(0, i)),
      hex.map((c) => `${token}${c}`),
      fc.constant(`${token.slice(33)}-${token.slice(0, 32)}`),
      fc.string({ unit: 'binary', maxLength: 80 }),
      fc.stringMatching(/^[0-9a-f]{32}-[0-9a-f]{24}$/),
    );
    await fc.assert(
      fc.asyncProperty(mutated, async (candidate) => {
        fc.pre(candidate.trim().toLowerCase() !== token);
        expect(await store.peek(candidate)).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('a tampered pending file (kind, list, expiry) fails the HMAC', async () => {
    const store = new TokenStore(join(root, 'tamper'), Buffer.alloc(32, 4));
    for (const edit of [
      (p: Record<string, unknown>) => ({ ...p, kind: 'moderate' }),
      (p: Record<string, unknown>) => ({ ...p, list: 'blue' }),
      (p: Record<string, unknown>) => ({ ...p, expires: Number(p.expires) + 86_400_000 }),
    ]) {
      const token = await store.create('subscribe', 'red', { address: 'a@x.example' }, 60_000);
      const file = join(root, 'tamper', `${token.slice(0, 32)}.json`);
      await writeFile(file, JSON.stringify(edit(JSON.parse(await readFile(file, 'utf8')))));
      expect(await store.peek(token)).toBeUndefined();
      expect(await store.consume(token)).toBeUndefined();
    }
  });

  it('ten concurrent uses of one token: exactly one wins', async () => {
    const store = new TokenStore(join(root, 'race'), Buffer.alloc(32, 5));
    const token = await store.create('subscribe', 'red', {}, 60_000);
    const results = await Promise.all(Array.from({ length: 10 }, () => store.consume(token)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});

describe('request handler: forged, cross-list and replayed confirmations', () => {
  const red: ListSettings = { name: 'red', address: 'red@list.example', members: [] };
  const blue: ListSettings = { name: 'blue', address: 'blue@list.example', members: [] };
  let n = 0;
  const mail = (from: string, subject: string, to = 'red-request@list.example'): ListMail =>
    createListMail(
      Buffer.from(
        `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <t${++n}@test>\r\n\r\n`,
      ),
      { fetcher: 'test', id: String(n) },
    );
  const tokenOf = (reply: ListMail | undefined) =>
    /confirm ([0-9a-f]{32}-[0-9a-f]{24})/.exec(reply?.header.get('Subject') ?? '')?.[1] ?? '';

  it('only the real token, on its own list, once, subscribes', async () => {
    const dir = await mkdtemp(join(root, 'req-'));
    // One installation secret and one token store for every list, as list-services does.
    const tokens = new TokenStore(join(dir, 'tokens'), Buffer.alloc(32, 9));
    const redStore = createMemoryMemberStore();
    const blueStore = createMemoryMemberStore();
    const redHandler = createRequestHandler(red, { store: redStore, tokens, state_dir: dir });
    const blueHandler = createRequestHandler(blue, { store: blueStore, tokens, state_dir: dir });
    const [confirmation] = await redHandler.handle(mail('alice@example.com', 'subscribe'));
    const token = tokenOf(confirmation);
    expect(token).not.toBe('');

    const forged = [
      `${token.slice(0, 33)}${'0'.repeat(24)}`,
      `${'f'.repeat(32)}${token.slice(32)}`,
      await new TokenStore(join(dir, 'other'), Buffer.alloc(32, 1)).create(
        'subscribe',
        'red',
        { address: 'mallory@evil.example' },
        60_000,
      ),
    ];
    for (const f of forged) await redHandler.handle(mail('mallory@evil.example', `confirm ${f}`));
    expect(await redStore.list()).toEqual([]);

    // The right token on the wrong list.
    await blueHandler.handle(
      mail('alice@example.com', `confirm ${token}`, 'blue-request@list.example'),
    );
    expect(await blueStore.list()).toEqual([]);

    await redHandler.handle(mail('alice@example.com', `Re: confirm ${token}`));
    expect(await redStore.list()).toEqual([{ address: 'alice@example.com' }]);

    // Replayed after she left: nothing.
    await redStore.remove('alice@example.com');
    await redHandler.handle(mail('alice@example.com', `Re: confirm ${token}`));
    expect(await redStore.list()).toEqual([]);
    expect((await readdir(join(dir, 'tokens'))).filter((f) => f.endsWith('.json'))).toEqual([]);
  });
});
