/**
 * The crash harness's own test: deliberately broken pipelines (ack before distributing, a
 * distributor that is not idempotent, a queue without its sent-log) must make it count
 * lost or duplicated mail — a harness that cannot fail proves nothing. The switch is
 * MALIST_TEST_BROKEN, read only by the scenario script test/helpers/crash-scenario.ts.
 */
import { describe, expect, it } from 'vitest';
import { startSmtpServer } from './helpers/smtp-server.ts';
import {
  clean,
  crashAt,
  formatTable,
  type PointResult,
  type Scenario,
  sweepPoint,
} from './long/crash/harness.ts';
import { maildirScenario, queueScenario } from './long/crash/scenarios.ts';

const members = ['alice@example.com', 'bob@example.com', 'carol@example.com'];

async function firstHit(scenario: Scenario, point: string, env: Record<string, string>) {
  const outcome = await crashAt(scenario, point, 1, { env });
  expect(outcome.crashed, `${point} was never reached`).toBe(true);
  const row: PointResult = {
    scenario: scenario.name,
    point,
    runs: 1,
    ...outcome.tally,
    stuck: outcome.stuck ? 1 : 0,
    pairs: outcome.tally.expected,
    ms: 0,
  };
  process.stdout.write(`${formatTable([row], `broken build: ${env.MALIST_TEST_BROKEN}`)}\n`);
  return row;
}

describe.concurrent('the harness notices a broken build', () => {
  it('acking before distributing loses mail at play.after-fetch', async () => {
    const row = await firstHit(
      maildirScenario({ members, memberPosts: 1, strangerPosts: 0 }),
      'play.after-fetch',
      {
        MALIST_TEST_BROKEN: 'ack-before-distribute',
      },
    );
    expect(row.lost).toBeGreaterThan(0);
  });

  it('a distributor that is not idempotent duplicates at play.after-distribute', async () => {
    const row = await firstHit(
      maildirScenario({ members, memberPosts: 1, strangerPosts: 0 }),
      'play.after-distribute',
      {
        MALIST_TEST_BROKEN: 'non-idempotent',
      },
    );
    expect(row.duplicated).toBeGreaterThan(0);
  });

  it('a queue without its sent-log duplicates at queue.before-envelope-update', async () => {
    const server = await startSmtpServer();
    try {
      const row = await firstHit(
        queueScenario(server, { members, memberPosts: 1, strangerPosts: 0 }),
        'queue.before-envelope-update',
        { MALIST_TEST_BROKEN: 'no-sent-log' },
      );
      expect(row.duplicated).toBeGreaterThan(0);
    } finally {
      await server.stop();
    }
  });

  it('sweepPoint and clean() count and judge (unit check on a fake scenario)', async () => {
    let runs = 0;
    const fake: Scenario = {
      name: 'fake',
      points: ['x'],
      async prepare() {
        return {
          run: async (opts = {}) => {
            runs++;
            const crash = opts.env?.MALIST_CRASH_AT === 'x:1';
            return {
              code: crash ? null : 0,
              signal: crash ? 'SIGKILL' : null,
              stdout: '',
              stderr: '',
              ms: 0,
              killedByHarness: false,
              timedOut: false,
            };
          },
          count: async () => ({
            expected: 2,
            received: 1,
            lost: 1,
            duplicated: 0,
            inDoubt: 0,
            unexpected: 0,
            left: 0,
            examples: ['lost a'],
          }),
          dispose: async () => {},
        };
      },
    };
    const row = await sweepPoint(fake, 'x');
    expect(row).toMatchObject({ runs: 1, lost: 2, pairs: 4 });
    expect(runs).toBe(3); // crash at hit 1, one recovery; hit 2 never comes: a clean run
    expect(clean([row])).toBe(false);
  });
});
