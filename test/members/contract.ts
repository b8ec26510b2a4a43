/**
 * The member store contract suite: every backend runs it (`testMemberStore(name, make)`).
 */
import { describe, expect, it } from 'vitest';
import { type Member, type MemberStore, memberPages } from '../../src/members/store.ts';

export function testMemberStore(name: string, make: () => Promise<MemberStore>): void {
  describe(`member store contract: ${name}`, () => {
    it('starts empty and adds members in order', async () => {
      const store = await make();
      expect(await store.list()).toEqual([]);
      expect(await store.add({ address: 'alice@example.com' })).toBe('added');
      expect(await store.add({ address: 'bob@example.org', digest: true })).toBe('added');
      expect(await store.list()).toEqual([
        { address: 'alice@example.com' },
        { address: 'bob@example.org', digest: true },
      ]);
    });

    it('compares addresses in normal form and adds idempotently', async () => {
      const store = await make();
      await store.add({ address: 'Alice@Example.COM' });
      expect(await store.add({ address: 'alice@example.com' })).toBe('exists');
      expect((await store.get('ALICE@example.com'))?.address).toBe('Alice@Example.COM');
      expect(await store.list()).toHaveLength(1);
    });

    it('refuses what is not an address', async () => {
      const store = await make();
      await expect(store.add({ address: 'not an address' })).rejects.toThrow(/cannot be a member/);
      for (const address of [
        'a#b@attacker.example',
        '"ab"@attacker.example',
        'victim@example.org#@attacker.example',
        'a(b)@x.example',
        '-oQ@x.example',
      ])
        await expect(store.add({ address }), address).rejects.toThrow(/cannot be a member/);
      expect(await store.list()).toEqual([]);
    });

    it('applies many changes together (applyMany), each as idempotent as its single form', async () => {
      const store = await make();
      if (!store.applyMany) return;
      await store.add({ address: 'alice@example.com' });
      await store.add({ address: 'bob@example.org', digest: true });
      await store.add({ address: 'carol@example.net' });
      const changes = {
        add: [{ address: 'dave@example.com', notmetoo: true }, { address: 'ALICE@example.com' }],
        remove: [{ address: 'Carol@example.net' }, { address: 'nobody@example.com' }],
        change: [{ address: 'BOB@example.org', moderate: true }],
      };
      expect(await store.applyMany(changes)).toEqual({ added: 1, removed: 1, changed: 1 });
      expect(await store.list()).toEqual([
        { address: 'alice@example.com' },
        { address: 'bob@example.org', moderate: true },
        { address: 'dave@example.com', notmetoo: true },
      ]);
      expect(await store.applyMany(changes)).toEqual({ added: 0, removed: 0, changed: 0 });
      await expect(
        store.applyMany({ add: [{ address: 'not an address' }], remove: [], change: [] }),
      ).rejects.toThrow(/cannot be a member/);
    });

    it('reads its members a page at a time: stored order, each once, as list() has them', async () => {
      const store = await make();
      const pagesOf = async (size: number) => {
        const pages: Member[][] = [];
        for await (const page of memberPages(store, size)) pages.push(page);
        return pages;
      };
      expect(await pagesOf(2)).toEqual([]);
      const seven = Array.from({ length: 7 }, (_, i) => `m${i}@example${i % 3}.org`);
      if (store.addMany) await store.addMany(seven.map((address) => ({ address })));
      else for (const address of seven) await store.add({ address });
      await store.update('m1@example1.org', { nomail: true, nomail_reason: 'bounce' });
      await store.update('m4@example1.org', { digest: true, notmetoo: true });
      await store.remove('m2@example2.org');
      const all = await store.list();
      expect(all).toHaveLength(6);
      // A page boundary on a member, at the end, and past it: no page empty, none lost.
      for (const size of [1, 2, 3, 6, 7, 100]) {
        const pages = await pagesOf(size);
        expect(pages.flat(), `pages of ${size}`).toEqual(all);
        expect(pages.length).toBe(Math.ceil(all.length / size));
        for (const page of pages) expect(page.length).toBeLessThanOrEqual(size);
      }
      // A member added after a read is in the next read, at the end.
      await store.add({ address: 'late@example.com' });
      expect((await pagesOf(4)).flat().at(-1)).toEqual({ address: 'late@example.com' });
    });

    it('removes idempotently', async () => {
      const store = await make();
      await store.add({ address: 'a@example.com' });
      await store.add({ address: 'b@example.com' });
      expect(await store.remove('A@example.com')).toBe(true);
      expect(await store.remove('a@example.com')).toBe(false);
      expect(await store.list()).toEqual([{ address: 'b@example.com' }]);
    });

    it('updates options; false drops them; nomail carries a reason', async () => {
      const store = await make();
      await store.add({ address: 'a@example.com' });
      expect(await store.update('a@example.com', { digest: true, notmetoo: true })).toEqual({
        address: 'a@example.com',
        digest: true,
        notmetoo: true,
      });
      await store.update('a@example.com', { digest: false, nomail: true, nomail_reason: 'bounce' });
      expect(await store.get('a@example.com')).toEqual({
        address: 'a@example.com',
        notmetoo: true,
        nomail: true,
        nomail_reason: 'bounce',
      });
      await store.update('a@example.com', { nomail: false });
      expect(await store.get('a@example.com')).toEqual({
        address: 'a@example.com',
        notmetoo: true,
      });
      expect(await store.update('nobody@example.com', { digest: true })).toBeUndefined();
      await store.update('a@example.com', { moderate: true });
      expect((await store.get('a@example.com'))?.moderate).toBe(true);
    });

    it('keeps every one of many concurrent changes', async () => {
      const store = await make();
      const addresses = Array.from({ length: 20 }, (_, i) => `m${i}@example.com`);
      await Promise.all(addresses.map((address) => store.add({ address })));
      await Promise.all(addresses.slice(0, 5).map((a) => store.remove(a)));
      const left = (await store.list()).map((m) => m.address).sort();
      expect(left).toEqual(addresses.slice(5).sort());
    });
  });
}
