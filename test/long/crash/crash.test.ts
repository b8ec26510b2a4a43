/**
 * `npm run test:crash` — the long crash suite. Every hit of every crash point (play(), the
 * queue, the POP3 and IMAP fetchers' ack paths) and many random SIGKILLs; after each kill
 * the child runs again until it finishes, and the receiving side counts every
 * (post, recipient) pair. The table is printed and written to var/reliability/crash-long.json.
 *
 * Scale with MALIST_CRASH_SCALE (default 1): more posts per trial and more random kills.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, dovecotAvailable, startDovecot } from '../../helpers/dovecot.ts';
import { startSmtpServer, type TestSmtpServer } from '../../helpers/smtp-server.ts';
import {
  CLEAN,
  discoverCrashPoints,
  type PointResult,
  randomKills,
  report,
  type Scenario,
  sweepPoint,
} from './harness.ts';
import {
  dovecotScenario,
  FIRST_ROUND_POINTS,
  IMAP_POINTS,
  maildirScenario,
  PLAY_POINTS,
  POP3_POINTS,
  QUEUE_POINTS,
  queueScenario,
  receiveScenario,
} from './scenarios.ts';

const SCALE = Number(process.env.MALIST_CRASH_SCALE ?? 1);
const PARALLEL = Number(process.env.MALIST_CRASH_PARALLEL ?? 3);
const SEED = Number(process.env.MALIST_CRASH_SEED ?? Date.now() % 1_000_000);
const members = ['alice@example.com', 'bob@example.com', 'carol@example.com', 'dave@example.com'];
const rows: PointResult[] = [];
const reached = new Set<string>();

async function sweep(scenario: Scenario, points: readonly string[]) {
  for (const point of points) {
    const row = await sweepPoint(scenario, point, { parallel: PARALLEL, maxHits: 200 });
    rows.push(row);
    process.stdout.write(
      `${row.scenario} ${row.point}: ${row.runs} crashes, ${row.lost} lost, ${row.duplicated} duplicated` +
        `${row.examples.length ? ` — ${row.examples.join('; ')}` : ''}\n`,
    );
    if (row.runs > 0) reached.add(point);
    expect(row, `${scenario.name} ${point}: ${row.examples.join('; ')}`).toMatchObject(CLEAN);
  }
}

let server: TestSmtpServer;
beforeAll(async () => {
  server = await startSmtpServer();
  process.stdout.write(`crash suite: seed ${SEED}, scale ${SCALE}, ${PARALLEL} trials at once\n`);
});
afterAll(async () => {
  await server?.stop();
  if (rows.length)
    await report('crash-long', `crash suite (every hit of every point; seed ${SEED})`, rows);
});

describe('crash points, every hit', () => {
  it('maildir → list → maildir', async () => {
    await sweep(
      maildirScenario({ members, memberPosts: 4 * SCALE, strangerPosts: 1 }),
      PLAY_POINTS,
    );
  });

  it('maildir → list → queue → SMTP (2 recipients per transaction)', async () => {
    await sweep(
      queueScenario(server, { members, memberPosts: 3 * SCALE, strangerPosts: 1, batch: 2 }),
      [...PLAY_POINTS, ...FIRST_ROUND_POINTS],
    );
  });

  it('the same with one member answered 451 once (the first round spools that recipient)', async () => {
    await sweep(
      queueScenario(server, {
        members,
        memberPosts: 3 * SCALE,
        strangerPosts: 1,
        batch: 2,
        deferFirst: 'carol@example.com',
      }),
      [...PLAY_POINTS, ...QUEUE_POINTS],
    );
  });
});

describe('the MTA hook: malist receive, killed, given again', () => {
  it('receive → list → queue → SMTP, then malist run (cron)', async () => {
    await sweep(
      receiveScenario(server, {
        members: ['alice@example.org', 'bob@example.org', 'carol@example.org'],
        memberPosts: 2 * SCALE,
        strangerPosts: 1,
      }),
      [...PLAY_POINTS, ...FIRST_ROUND_POINTS],
    );
  });
});

describe('random SIGKILLs', () => {
  it('maildir → list → maildir', async () => {
    const row = await randomKills(maildirScenario({ members, memberPosts: 8 * SCALE }), {
      trials: 12 * SCALE,
      kills: 3,
      fromMs: 300,
      toMs: 1500,
      seed: SEED,
      parallel: PARALLEL,
    });
    rows.push(row);
    expect(row, row.examples.join('; ')).toMatchObject(CLEAN);
  });

  it('maildir → list → queue → SMTP', async () => {
    const row = await randomKills(
      queueScenario(server, { members, memberPosts: 6 * SCALE, batch: 2 }),
      { trials: 16 * SCALE, kills: 3, fromMs: 300, toMs: 2000, seed: SEED + 1, parallel: PARALLEL },
    );
    rows.push(row);
    expect(row, row.examples.join('; ')).toMatchObject(CLEAN);
  });
});

describe.skipIf(!dovecotAvailable())('POP3 and IMAP sources (real Dovecot)', () => {
  let dovecot: Dovecot;
  /** Advertises neither MOVE nor UIDPLUS: COPY + \Deleted + EXPUNGE at close. */
  let plain: Dovecot;
  const users = (prefix: string) => Array.from({ length: 120 }, (_, i) => `${prefix}${i}`);
  beforeAll(async () => {
    [dovecot, plain] = await Promise.all([
      startDovecot({ users: [...users('p'), ...users('i'), ...users('m')] }),
      startDovecot({
        users: users('c'),
        extraConfig: 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE',
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([dovecot?.stop(), plain?.stop()]);
  });
  const plan = () => ({ members, memberPosts: 3 * SCALE, strangerPosts: 1 });

  it('POP3 → list → maildir', async () => {
    const points = [...PLAY_POINTS, ...POP3_POINTS];
    await sweep(
      dovecotScenario(dovecot, { kind: 'pop3', users: users('p'), plan: plan(), points }),
      points,
    );
  });

  it('IMAP (MOVE, UIDPLUS; delete) → list → maildir', async () => {
    const points = [...PLAY_POINTS, 'imap.after-record', 'imap.after-flag', 'imap.after-expunge'];
    await sweep(
      dovecotScenario(dovecot, { kind: 'imap', users: users('i'), plan: plan(), points }),
      points,
    );
  });

  it('IMAP (moveTo with MOVE) → list → maildir', async () => {
    const points = ['imap.after-move'];
    await sweep(
      dovecotScenario(dovecot, {
        kind: 'imap',
        name: 'imap-move',
        users: users('m'),
        plan: plan(),
        points,
        moveTo: 'Processed',
      }),
      points,
    );
  });

  it('IMAP (moveTo without MOVE/UIDPLUS: COPY, flag) → list → maildir', async () => {
    const points = ['imap.after-copy', 'imap.after-flag'];
    await sweep(
      dovecotScenario(plain, {
        kind: 'imap',
        name: 'imap-copy',
        users: users('c'),
        plan: plan(),
        points,
        moveTo: 'Processed',
      }),
      points,
    );
  });
});

describe('coverage', () => {
  it('every crashPoint() in src/ was reached by some scenario', async () => {
    const found = await discoverCrashPoints();
    const missing = [...found.keys()].filter((p) => !reached.has(p));
    if (!dovecotAvailable()) {
      for (const p of [...POP3_POINTS, ...IMAP_POINTS]) missing.splice(missing.indexOf(p), 1);
    }
    expect(missing, 'crash points never reached').toEqual([]);
  });
});
