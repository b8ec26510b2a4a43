/**
 * `npm run test:crash`: queue workers on PostgreSQL, rounds of SIGKILLs. Three worker
 * processes sharing only the database (separate state directories) fan a 1,000-member post
 * out; per round, six are SIGKILLed at random moments and replaced. Every member gets the
 * post; a second copy only for a member whose reply was in flight at a kill (one
 * transaction of one recipient per worker: at most one per kill). Counted at the SMTP
 * server. The short round is test/storage/pg-queue-workers.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { pgAndSmtp } from '../../helpers/pg-queue-worker.ts';
import { formatTally, runWorkersRound } from '../../helpers/pg-workers.ts';
import { postgresAvailable } from '../../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)('queue workers on PostgreSQL, rounds of SIGKILLs', () => {
  const servers = pgAndSmtp({ rcptDelayMs: 1 });

  for (const seed of [11, 12, 13, 14]) {
    it(`round ${seed}: three workers, six kills, batches of ${seed % 2 ? 25 : 100}`, async () => {
      const url = await servers.pg.createDatabase(`workers_${seed}`);
      const tally = await runWorkersRound({
        url,
        server: servers.server,
        members: 1000,
        workers: 3,
        kills: 6,
        seed,
        batch: seed % 2 ? 25 : 100,
      });
      process.stdout.write(`${formatTally(tally, `pg workers round ${seed}`)}\n`);
      expect(tally.kills).toBe(6);
      expect(tally.lost).toBe(0);
      expect(tally.duplicated).toBeLessThanOrEqual(tally.kills);
      expect(tally.failedExits).toBe(0);
      expect(
        servers.pg.psql(
          "SELECT count(*) FROM queue_sent WHERE status = 'delivered'",
          `workers_${seed}`,
        ),
      ).toBe('1000\n');
    }, 900_000);
  }
});
