/**
 * The held-mail store's contract against both places held posts and decisions live: the
 * files (state_dir/held, state_dir/moderation) and PostgreSQL rows. Two deciders over one
 * place stand for two processes or hosts: a post held by one is listed and shown by the
 * other, decided once whoever asks (of racing approvals exactly one releases it), rejected
 * for good, and expired after the list's days.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListSettings } from '../../src/list/settings.ts';
import { decide } from '../../src/moderation/decide.ts';
import { expireHeld } from '../../src/moderation/expire.ts';
import {
  doneStore,
  findHeld,
  heldStore,
  type ModerationContext,
  readDecision,
} from '../../src/moderation/held.ts';
import createSingleList from '../../src/processors/single-list.ts';
import { fileHeldStorage } from '../../src/state/held-store.ts';
import { openDatabase } from '../../src/state/pg.ts';
import { pgHeldStorage } from '../../src/state/pg-held.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';
import { fixtureMail, redList } from '../posting/corpus.ts';

const available = postgresAvailable();
let pg: Postgres | undefined;
let databases = 0;
const DAY = 86_400_000;

/** Two moderation contexts over one place, as two processes (or hosts) have them. */
type Open = (
  list: ListSettings,
) => Promise<{ a: ModerationContext; b: ModerationContext; end(): Promise<void> }>;

function context(list: ListSettings, stateDir: string): ModerationContext {
  const single = createSingleList(list);
  return { stateDir, pipeline: (name) => (name === list.name ? single : undefined) };
}

const files: Open = async (list) => {
  const dir = await mkdtemp(join(tmpdir(), 'malist-held-'));
  return {
    a: { ...context(list, dir), storage: fileHeldStorage(dir) },
    b: { ...context(list, dir), storage: fileHeldStorage(dir) },
    end: () => rm(dir, { recursive: true, force: true }),
  };
};

const postgres: Open = async (list) => {
  const url = await pg!.createDatabase(`held_${++databases}`);
  const [dbA, dbB] = await Promise.all([openDatabase(url), openDatabase(url)]);
  // Each "host" has a state directory of its own: nothing of moderation may be kept there.
  const [dirA, dirB] = await Promise.all([
    mkdtemp(join(tmpdir(), 'malist-held-a-')),
    mkdtemp(join(tmpdir(), 'malist-held-b-')),
  ]);
  return {
    a: { ...context(list, dirA), storage: await pgHeldStorage(dbA) },
    b: { ...context(list, dirB), storage: await pgHeldStorage(dbB) },
    async end() {
      await Promise.all([dbA.close(), dbB.close()]);
      await Promise.all([dirA, dirB].map((d) => rm(d, { recursive: true, force: true })));
    },
  };
};

const backends: [string, Open][] = [['files', files]];
if (available) backends.push(['postgres', postgres]);

beforeAll(async () => {
  if (available) pg = await startPostgres();
}, 120_000);
afterAll(() => pg?.stop());

/** What play() does on Hold: the post as fetched, under its key. */
async function hold(ctx: ModerationContext, fixture = '033') {
  const mail = fixtureMail(fixture);
  const meta = await heldStore(ctx, 'red').put(mail, {
    reason: 'moderated',
    unit: 'posting-policy',
    list: 'red',
  });
  return { mail, meta };
}

describe.each(backends)('held mail contract: %s', (_name, open) => {
  const list = redList({ posting: 'moderated' });

  it('a post held by one is listed and shown by the other, bytes and meta intact', async () => {
    const { a, b, end } = await open(list);
    try {
      const { mail, meta } = await hold(a);
      expect(meta.id).toBe(mail.key);
      const listed = await heldStore(b, 'red').list();
      expect(listed).toEqual([meta]);
      const shown = await findHeld(b, 'red', mail.key);
      expect(shown?.decided).toBe(false);
      expect(Buffer.compare(shown!.raw, mail.raw)).toBe(0);
      expect(shown?.meta).toEqual(meta);
      // Holding the same bytes again (a replayed fetch) is harmless: still one post.
      await hold(b);
      expect(await heldStore(a, 'red').list()).toHaveLength(1);
      expect(await findHeld(a, 'red', 'f'.repeat(64))).toBeUndefined();
      expect(await heldStore(a, 'blue').list()).toEqual([]);
    } finally {
      await end();
    }
  });

  it('approves once: of ten deciders racing on two sides one releases the post', async () => {
    const { a, b, end } = await open(list);
    try {
      const { mail } = await hold(a);
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          decide(i % 2 ? a : b, list, mail.key, 'approve', `mod${i}@example.com`),
        ),
      );
      const released = results.filter((r) => r.release);
      expect(released).toHaveLength(1);
      expect(results.filter((r) => r.status === 'done')).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 'done'))
        expect(['already', 'missing']).toContain(r.status);
      const winner = released[0]!.decision!;
      expect(await readDecision(a, 'red', mail.key)).toEqual(winner);
      expect(await readDecision(b, 'red', mail.key)).toEqual(winner);
      expect(await heldStore(b, 'red').list()).toEqual([]);
      const done = await doneStore(a, 'red').list();
      expect(done.map((m) => m.id)).toEqual([mail.key]);
      expect(done[0]?.extra?.decision).toEqual(winner);
      expect((await findHeld(b, 'red', mail.key))?.decided).toBe(true);
      // Asked again by anyone: nothing more.
      const again = await decide(b, list, mail.key, 'approve', 'late@example.com');
      expect(again.status).toBe('already');
      expect(again.release).toBeUndefined();
    } finally {
      await end();
    }
  });

  it('a command mail replayed after a crash gets its release again; its posts are remembered', async () => {
    const { a, b, end } = await open(list);
    try {
      const { mail } = await hold(a);
      const first = await decide(a, list, mail.key, 'approve', 'mod@example.com', 'request-1');
      expect(first.status).toBe('done');
      const replay = await decide(b, list, mail.key, 'approve', 'mod@example.com', 'request-1');
      expect(replay.release?.key).toBe(first.release?.key);
      expect(await b.storage!.decidedBy('red', 'request-1')).toEqual([mail.key]);
      expect(await a.storage!.decidedBy('red', 'request-2')).toEqual([]);
    } finally {
      await end();
    }
  });

  it('rejects for good: no release, and a later approval is refused', async () => {
    const { a, b, end } = await open(list);
    try {
      const { mail } = await hold(a);
      const rejected = await decide(b, list, mail.key, 'reject', 'mod@example.com');
      expect(rejected.status).toBe('done');
      expect(rejected.release).toBeUndefined();
      expect(await heldStore(a, 'red').list()).toEqual([]);
      const late = await decide(a, list, mail.key, 'approve', 'other@example.com');
      expect(late.status).toBe('already');
      expect(late.message).toMatch(/already rejected \(by mod@example.com/);
      expect(late.release).toBeUndefined();
    } finally {
      await end();
    }
  });

  it("expires a post nobody decided after the list's days, then prunes it from done", async () => {
    const { a, b, end } = await open(list);
    try {
      const { mail } = await hold(a);
      const now = Date.now();
      expect(await expireHeld(b, list, now + DAY)).toEqual({ expired: [], pruned: 0 });
      const report = await expireHeld(b, list, now + 15 * DAY);
      expect(report.expired).toEqual([mail.key]);
      expect((await readDecision(a, 'red', mail.key))?.action).toBe('expire');
      expect(await heldStore(a, 'red').list()).toEqual([]);
      expect((await decide(a, list, mail.key, 'approve', 'mod@example.com')).status).toBe(
        'already',
      );
      expect(await expireHeld(a, list, now + 15 * DAY + 45 * DAY)).toEqual({
        expired: [],
        pruned: 1,
      });
      expect(await doneStore(b, 'red').list()).toEqual([]);
    } finally {
      await end();
    }
  });
});
