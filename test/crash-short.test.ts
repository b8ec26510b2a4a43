/**
 * The short crash suite inside `npm test`: every crash point of play() and of the queue is
 * hit once (its first time) with SIGKILL, the child runs again to the end, and the receiver
 * counts (post, recipient) pairs: 0 lost, 0 duplicated. A few random SIGKILLs too.
 * The long sweep (every hit of every point, many random kills) is `npm run test:crash`.
 * The harness's own test (a broken build must fail it) is crash-short-harness.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server.ts';
import {
  CLEAN,
  clean,
  crashAt,
  discoverCrashPoints,
  type PointResult,
  randomKills,
  report,
  type Scenario,
} from './long/crash/harness.ts';
import {
  FIRST_ROUND_POINTS,
  LONG_SUITE_POINTS,
  maildirScenario,
  PLAY_POINTS,
  QUEUE_POINTS,
  queueScenario,
  RFC1047_POINTS,
} from './long/crash/scenarios.ts';

const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];
const rows: PointResult[] = [];

async function firstHit(scenario: Scenario, point: string, env?: Record<string, string>) {
  const started = performance.now();
  const outcome = await crashAt(scenario, point, 1, env ? { env } : {});
  const t = outcome.tally;
  const row: PointResult = {
    scenario: scenario.name,
    point,
    runs: outcome.crashed ? 1 : 0,
    lost: t.lost,
    duplicated: t.duplicated,
    inDoubt: t.inDoubt,
    unexpected: t.unexpected,
    left: t.left,
    stuck: outcome.stuck ? 1 : 0,
    pairs: t.expected,
    ms: performance.now() - started,
    examples: t.examples,
  };
  return { outcome, row };
}

describe.concurrent('crash points (first hit each) — short', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server?.stop();
    if (rows.length)
      await report('crash-short', 'crash suite (short: first hit of each point)', rows);
  });

  it('every crashPoint() in src/ is reached by a scenario (or waits for one, named)', async () => {
    const found = await discoverCrashPoints();
    const covered = new Set<string>([...PLAY_POINTS, ...QUEUE_POINTS, ...LONG_SUITE_POINTS.keys()]);
    const uncovered = [...found.keys()].filter((p) => !covered.has(p));
    expect(uncovered, 'crash points no scenario reaches').toEqual([]);
  });

  it.each(PLAY_POINTS)('maildir → list → maildir, crash at %s', async (point) => {
    const { outcome, row } = await firstHit(maildirScenario({ members, memberPosts: 2 }), point);
    rows.push(row);
    expect(outcome.crashed, `${point} was never reached`).toBe(true);
    expect(row, row.examples.join('; ')).toMatchObject(CLEAN);
  });

  it.each([
    ...[...PLAY_POINTS, ...FIRST_ROUND_POINTS].map((point) => [point, '', undefined] as const),
    // One member answered 451 once: the first round spools that recipient.
    ...QUEUE_POINTS.map(
      (point) => [point, ' (451 once for one member)', 'carol@example.com'] as const,
    ),
  ])('maildir → list → queue → SMTP, crash at %s%s', async (point, _label, deferFirst) => {
    const { outcome, row } = await firstHit(
      queueScenario(server, {
        members,
        batch: 2,
        memberPosts: 2,
        ...(deferFirst ? { deferFirst } : {}),
      }),
      point,
    );
    rows.push(row);
    expect(outcome.crashed, `${point} was never reached`).toBe(true);
    expect(row, row.examples.join('; ')).toMatchObject(CLEAN);
    if (!RFC1047_POINTS.has(point) && point !== 'queue.after-sent-log') expect(row.inDoubt).toBe(0);
  });

  it('random SIGKILLs during a queue run', async () => {
    const row = await randomKills(queueScenario(server, { members, batch: 2, memberPosts: 2 }), {
      trials: 3,
      kills: 2,
      fromMs: 250,
      toMs: 1200,
      seed: Number(process.env.MALIST_CRASH_SEED ?? 20261123),
      parallel: 3,
    });
    rows.push(row);
    expect(clean([row]), row.examples.join('; ')).toBe(true);
  });
});
