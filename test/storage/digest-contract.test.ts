/**
 * The digest collection's contract against both places it lives: the files under
 * state_dir/digest/LIST and PostgreSQL rows. Posts collected by any process go into one
 * collection, once each; issues are numbered in order (a new volume with the year); an issue
 * whose sending failed or whose sender died is resumed with the same number and posts. On
 * PostgreSQL several hosts send at once: each issue is sent by one of them, and every post
 * goes out in exactly one issue.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DigestNumber } from '../../src/digest/numbering.ts';
import { PgDigestStore } from '../../src/digest/pg-store.ts';
import { type DigestCollection, DigestStore, keyOfName } from '../../src/digest/store.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
let pg: Postgres | undefined;
let databases = 0;

type Open = () => Promise<{ a: DigestCollection; b: DigestCollection; end(): Promise<void> }>;

const files: Open = async () => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-digest-'));
  return { a: new DigestStore(dir, 'red'), b: new DigestStore(dir, 'red'), end: async () => {} };
};

const postgres: Open = async () => {
  const url = await pg!.createDatabase(`digest_${++databases}`);
  const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
  return {
    a: await PgDigestStore.open(dbA, 'red'),
    b: await PgDigestStore.open(dbB, 'red'),
    async end() {
      await dbA.close();
      await dbB.close();
    },
  };
};

const backends: [string, Open][] = [['files', files]];
if (available) backends.push(['postgres', postgres]);

beforeAll(async () => {
  if (available) pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

const T0 = Date.UTC(2026, 11, 5, 9);
const post = (n: number) => Buffer.from(`Subject: post ${n}\r\n\r\nbody ${n}\r\n`);

/** One sender's round: claim, read the posts, finish; what it sent. */
async function sendOnce(
  store: DigestCollection,
  date: Date,
): Promise<{ number: DigestNumber; keys: string[]; bodies: string[] } | undefined> {
  const issue = await store.claim(date);
  if (!issue) return undefined;
  try {
    const bytes = await store.postBytes(issue);
    await store.finish(issue);
    return {
      number: issue.number,
      keys: issue.posts.map(keyOfName),
      bodies: bytes.map((b) => b.toString()),
    };
  } finally {
    await store.release?.(issue);
  }
}

describe.each(backends)('digest collection contract: %s', (_name, open) => {
  it('collects each post once, whoever adds it, oldest first', async () => {
    const { a, b, end } = await open();
    try {
      expect(await a.add('<k2@x>', post(2), T0 + 2)).toBe(true);
      expect(await b.add('k1', post(1), T0 + 1)).toBe(true);
      expect(await b.add('<k2@x>', post(2), T0 + 5)).toBe(false);
      const pending = await a.pending();
      expect(pending.map((p) => p.time)).toEqual([T0 + 1, T0 + 2]);
      expect(pending.map((p) => p.size)).toEqual([post(1).length, post(2).length]);
    } finally {
      await end();
    }
  });

  it('numbers issues in order, a new volume with the year; a post added while one is out waits for the next', async () => {
    const { a, b, end } = await open();
    try {
      expect(await a.claim(new Date(T0))).toBeUndefined();
      await a.add('k1', post(1), T0);
      await b.add('k2', post(2), T0 + 1);
      const issue = await a.claim(new Date(T0 + 10));
      expect(issue?.number).toEqual({ volume: 1, issue: 1, year: 2026 });
      expect((await b.openIssue())?.posts.map(keyOfName)).toEqual(['k1', 'k2']);
      expect(await b.add('k2', post(2), T0 + 20)).toBe(false);
      expect(await b.add('k3', post(3), T0 + 20)).toBe(true);
      expect((await a.postBytes(issue!)).map(String)).toEqual([String(post(1)), String(post(2))]);
      await a.finish(issue!);
      await a.release?.(issue!);
      expect(await b.openIssue()).toBeUndefined();
      expect(await b.last()).toEqual({ volume: 1, issue: 1, year: 2026 });
      expect((await b.pending()).map((p) => keyOfName(p.name))).toEqual(['k3']);
      const second = await sendOnce(b, new Date(T0 + 30));
      expect(second).toEqual({
        number: { volume: 1, issue: 2, year: 2026 },
        keys: ['k3'],
        bodies: [String(post(3))],
      });
      await a.add('k4', post(4), T0 + 40);
      const next = await sendOnce(a, new Date(Date.UTC(2027, 0, 1)));
      expect(next?.number).toEqual({ volume: 2, issue: 1, year: 2027 });
      expect(await sendOnce(b, new Date(Date.UTC(2027, 0, 2)))).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('an issue whose sending failed is sent again as it was, by either', async () => {
    const { a, b, end } = await open();
    try {
      await a.add('k1', post(1), T0);
      const issue = await a.claim(new Date(T0));
      await a.release?.(issue!); // the distributor threw: the issue stays open
      await b.add('k2', post(2), T0 + 1);
      const again = await sendOnce(b, new Date(T0 + 3_600_000));
      expect(again).toEqual({
        number: { volume: 1, issue: 1, year: 2026 },
        keys: ['k1'],
        bodies: [String(post(1))],
      });
      expect((await sendOnce(a, new Date(T0 + 7_200_000)))?.keys).toEqual(['k2']);
    } finally {
      await end();
    }
  });
});

describe.skipIf(!available)('digest collection on PostgreSQL, several senders', () => {
  it('while one sends an issue the other sends nothing; its death hands the issue on', async () => {
    const { a, b, end } = await postgres();
    try {
      await a.add('k1', post(1), T0);
      const issue = await a.claim(new Date(T0));
      expect(issue?.number.issue).toBe(1);
      expect(await b.claim(new Date(T0))).toBeUndefined();
      // The sender's session dies (host gone): its claim goes with it.
      pg!.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        `digest_${databases}`,
      );
      let resumed: Awaited<ReturnType<typeof sendOnce>>;
      for (let i = 0; i < 100 && !resumed; i++) {
        resumed = await sendOnce(b, new Date(T0 + 1));
        if (!resumed) await new Promise((r) => setTimeout(r, 50));
      }
      expect(resumed).toEqual({
        number: { volume: 1, issue: 1, year: 2026 },
        keys: ['k1'],
        bodies: [String(post(1))],
      });
    } finally {
      await end();
    }
  }, 60_000);

  it('two hosts collecting and sending at once: every post in exactly one issue, each issue once', async () => {
    const { a, b, end } = await postgres();
    try {
      const sent: NonNullable<Awaited<ReturnType<typeof sendOnce>>>[] = [];
      let adding = true;
      const sender = async (store: DigestCollection) => {
        let t = 0;
        while (adding || (await store.pending()).length > 0 || (await store.openIssue())) {
          const out = await sendOnce(store, new Date(T0 + ++t));
          if (out) sent.push(out);
          else await new Promise((r) => setTimeout(r, 5));
        }
      };
      const senders = [sender(a), sender(b)];
      const adds: Promise<boolean>[] = [];
      for (let i = 0; i < 120; i++) {
        adds.push((i % 2 ? a : b).add(`post-${i}`, post(i), T0 + i));
        // and each post collected again by the other host (a replay): never twice
        if (i % 3 === 0) adds.push((i % 2 ? b : a).add(`post-${i}`, post(i), T0 + i));
        if (i % 10 === 0) await Promise.all(adds.splice(0));
      }
      await Promise.all(adds);
      adding = false;
      await Promise.all(senders);
      const keys = sent.flatMap((s) => s.keys);
      expect(keys.length).toBe(120);
      expect(new Set(keys).size).toBe(120);
      for (const s of sent) expect(s.bodies.length).toBe(s.keys.length);
      const numbers = sent.map((s) => s.number.issue).sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: sent.length }, (_, i) => i + 1));
    } finally {
      await end();
    }
  }, 120_000);
});
