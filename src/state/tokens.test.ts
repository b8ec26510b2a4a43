import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenStore } from './tokens.ts';

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
});
