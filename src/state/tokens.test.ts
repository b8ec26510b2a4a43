import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilePendingStore, TokenStore } from './tokens.ts';

describe('TokenStore', () => {
  let dir: string;
  let store: TokenStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'malist-tokens-'));
    store = new TokenStore(dir, Buffer.from('0123456789abcdef0123456789abcdef'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('confirms a valid token once', async () => {
    const token = await store.create('subscribe', 'red', { address: 'a@x.example' }, 60_000);
    expect((await store.peek(token))?.data).toEqual({ address: 'a@x.example' });
    expect((await store.consume(token))?.kind).toBe('subscribe');
    expect(await store.consume(token)).toBeUndefined();
  });

  it('refuses a forged, tampered or expired token', async () => {
    const token = await store.create('subscribe', 'red', {}, 1000, 0);
    expect(await store.peek(`${token.slice(0, 33)}${'0'.repeat(24)}`, 10)).toBeUndefined();
    expect(await store.peek('not-a-token')).toBeUndefined();
    expect(await store.peek(token, 2000)).toBeUndefined();
    const other = new TokenStore(dir, Buffer.from('another secret that is long enough'));
    expect(await other.peek(token, 10)).toBeUndefined();
  });

  it('restores kept actions as another store had them: used stays used, never pending again', async () => {
    const token = await store.create('subscribe', 'red', { address: 'a@x.example' }, 60_000);
    const id = token.slice(0, 32);
    const files = new FilePendingStore(dir);
    const [kept] = await files.entries();
    expect(kept).toMatchObject({ id, used: false, pending: { kind: 'subscribe' } });
    // Pending again: nothing to write. Used at the source: used here too, once.
    expect(await files.restore(kept!)).toBe(false);
    expect(await files.restore({ ...kept!, used: true })).toBe(true);
    expect(await files.restore({ ...kept!, used: true })).toBe(false);
    expect(await files.restore(kept!)).toBe(false);
    expect(await store.consume(token)).toBeUndefined();
    expect(await files.entries()).toEqual([{ ...kept, used: true }]);
    // A new id comes as it was, pending or used.
    const elsewhere = new FilePendingStore(join(dir, 'elsewhere'));
    expect(await elsewhere.restore({ ...kept!, used: true })).toBe(true);
    expect(await elsewhere.get(id)).toBeUndefined();
    const copy = new TokenStore(
      new FilePendingStore(join(dir, 'copy')),
      Buffer.from('0123456789abcdef0123456789abcdef'),
    );
    expect(await new FilePendingStore(join(dir, 'copy')).restore(kept!)).toBe(true);
    expect((await copy.consume(token))?.data).toEqual({ address: 'a@x.example' });
    expect(await copy.consume(token)).toBeUndefined();
  });
});
