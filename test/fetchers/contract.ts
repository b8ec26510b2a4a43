/**
 * The contract every fetcher keeps (DESIGN.md, "The contracts"), as one suite that runs
 * against any fetcher:
 *
 * ```ts
 * fetcherContract('pop3', async () => ({
 *   seed: (messages) => …put them at a fresh source…,
 *   make: () => createPop3Fetcher({ … }),
 *   remaining: () => …how many the source still holds…,
 * }));
 * ```
 *
 * Each test calls the setup for a fresh, empty source. A one-shot source (stdin) sets
 * `removable: false` and `maxMessages: 1`: it has nothing to remove and nothing to keep.
 */
import { describe, expect, it } from 'vitest';
import { NothingMore } from '../../src/errors.ts';
import type { Fetched, Fetcher } from '../../src/types.ts';

export interface ContractSource {
  /** Puts these messages at the (fresh, empty) source, in this order. */
  seed(messages: Buffer[]): Promise<void>;
  /** A new fetcher, i.e. a new session on the source. */
  make(): Fetcher | Promise<Fetcher>;
  /** How many messages the source still holds (only asked when `removable`). */
  remaining(): Promise<number>;
  /** Frees what the setup made. */
  cleanup?(): Promise<void>;
}

export interface ContractOptions {
  /** The source can remove a mail on ack and keep it otherwise. @default true */
  removable?: boolean;
  /** The most messages the source can hold at once. @default 3 */
  maxMessages?: number;
  /** Per-test timeout in ms. @default 20000 */
  timeout?: number;
  /** Skip the whole suite (e.g. no server available). @default false */
  skip?: boolean;
}

/** A small, distinct message; `i` makes each one unique. */
export function contractMessage(i: number, tag = 'contract'): Buffer {
  return Buffer.from(
    `From: poster${i}@example.test\r\nTo: list@example.test\r\nSubject: ${tag} ${i}\r\n` +
      `Message-ID: <${tag}-${i}-${Date.now()}@example.test>\r\n\r\nBody ${i}\r\n`,
  );
}

async function drain(fetcher: Fetcher, limit = 50): Promise<Fetched[]> {
  const got: Fetched[] = [];
  for (let i = 0; i < limit; i++) {
    try {
      got.push(await fetcher.fetch());
    } catch (error) {
      if (error instanceof NothingMore) return got;
      throw error;
    }
  }
  throw new Error(`fetcher returned more than ${limit} mails`);
}

/** Registers the contract tests for one fetcher. */
export function fetcherContract(
  name: string,
  setup: () => Promise<ContractSource>,
  opts: ContractOptions = {},
): void {
  const removable = opts.removable ?? true;
  const count = Math.min(opts.maxMessages ?? 3, 3);
  const timeout = opts.timeout ?? 20_000;

  async function withSource(
    n: number,
    body: (source: ContractSource, seeded: Buffer[]) => Promise<void>,
  ) {
    const source = await setup();
    try {
      const seeded = Array.from({ length: n }, (_, i) => contractMessage(i, name));
      await source.seed(seeded);
      await body(source, seeded);
    } finally {
      await source.cleanup?.();
    }
  }

  describe.skipIf(opts.skip ?? false)(`fetcher contract: ${name}`, () => {
    it(
      'hands out every mail once, byte for byte, then throws NothingMore (and again)',
      async () => {
        await withSource(count, async (source, seeded) => {
          const fetcher = await source.make();
          try {
            const got = await drain(fetcher);
            expect(got.map((f) => f.mail.raw.toString('latin1')).sort()).toEqual(
              seeded.map((m) => m.toString('latin1')).sort(),
            );
            const ids = got.map((f) => `${f.mail.origin.fetcher}:${f.mail.origin.id}`);
            expect(new Set(ids).size).toBe(ids.length);
            await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
            await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
          } finally {
            await fetcher.close();
          }
        });
      },
      timeout,
    );

    it(
      'an empty source throws NothingMore at once',
      async () => {
        await withSource(0, async (source) => {
          const fetcher = await source.make();
          try {
            await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
          } finally {
            await fetcher.close();
          }
        });
      },
      timeout,
    );

    it.skipIf(!removable)(
      'ack removes the mail from the source',
      async () => {
        await withSource(count, async (source) => {
          const fetcher = await source.make();
          const got = await drain(fetcher);
          for (const fetched of got) await fetched.ack();
          await fetcher.close();
          expect(await source.remaining()).toBe(0);
          const again = await source.make();
          try {
            await expect(again.fetch()).rejects.toBeInstanceOf(NothingMore);
          } finally {
            await again.close();
          }
        });
      },
      timeout,
    );

    it.skipIf(!removable)(
      'no ack keeps the mail for the next session; acking one removes only that one',
      async () => {
        await withSource(count, async (source, seeded) => {
          const fetcher = await source.make();
          const got = await drain(fetcher);
          expect(got).toHaveLength(seeded.length);
          await got[0]!.ack();
          await fetcher.close();
          expect(await source.remaining()).toBe(seeded.length - 1);
          const again = await source.make();
          try {
            const left = await drain(again);
            expect(left.map((f) => f.mail.key).sort()).toEqual(
              got
                .slice(1)
                .map((f) => f.mail.key)
                .sort(),
            );
          } finally {
            await again.close();
          }
        });
      },
      timeout,
    );

    it(
      'close is idempotent, also without a fetch',
      async () => {
        await withSource(1, async (source) => {
          const unused = await source.make();
          await unused.close();
          await unused.close();
          const fetcher = await source.make();
          const fetched = await fetcher.fetch();
          await fetched.ack();
          await fetcher.close();
          await fetcher.close();
          if (removable) expect(await source.remaining()).toBe(0);
        });
      },
      timeout,
    );
  });
}
