/**
 * The short many-workers check inside `npm test`: three queue worker processes sharing only
 * a PostgreSQL database fan one 1,000-member post out; two of them are SIGKILLed at random
 * and replaced. Every member gets the post; a second copy only for a member whose reply was
 * in flight at a kill (RFC 1047: one transaction of one recipient per worker here, so at
 * most one per kill). Counted at the SMTP server. Longer rounds: test/long/crash/pg-workers.
 */
import { describe, expect, it } from 'vitest';
import { pgAndSmtp } from '../helpers/pg-queue-worker.ts';
import { formatTally, runWorkersRound } from '../helpers/pg-workers.ts';
import { postgresAvailable } from '../helpers/postgres.ts';

const available = postgresAvailable();

describe.skipIf(!available)('queue workers on PostgreSQL, SIGKILLed at random', () => {
  const servers = pgAndSmtp({ rcptDelayMs: 1 });

  it('three workers, one 1,000-member post, two kills: none lost, duplicates only at a kill', async () => {
    const url = await servers.pg.createDatabase('workers_short');
    const tally = await runWorkersRound({
      url,
      server: servers.server,
      members: 1000,
      workers: 3,
      kills: 2,
      seed: 7,
    });
    process.stdout.write(`${formatTally(tally, 'pg workers (short)')}\n`);
    expect(tally.kills).toBe(2);
    expect(tally.lost).toBe(0);
    expect(tally.duplicated).toBeLessThanOrEqual(tally.kills);
    expect(tally.failedExits).toBe(0);
    // The kills left claims behind that the others took over.
    expect(tally.reclaimed).toBeGreaterThan(0);
    expect(
      servers.pg.psql('SELECT count(*) FROM queue_entries WHERE done_at IS NULL', 'workers_short'),
    ).toBe('0\n');
    expect(
      servers.pg.psql(
        "SELECT count(*) FROM queue_sent WHERE status = 'delivered'",
        'workers_short',
      ),
    ).toBe('1000\n');
  }, 300_000);
});
