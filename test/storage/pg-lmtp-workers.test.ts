import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLmtp, sendLmtp, startLmtpCli } from '../cli/lmtp-intake.ts';
import {
  hostConfigs,
  numberedPost,
  openListRoot,
  PIPE_MEMBERS,
  pipeArgs,
  pipeCopies,
} from '../helpers/pipe-posts.ts';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.ts';

const available = postgresAvailable();
const POSTS = 12;
const MEMBERS = PIPE_MEMBERS;

const mail = (i: number) => numberedPost(i, 'lmtp');

describe.skipIf(!available)('malist lmtp on two hosts sharing one PostgreSQL database', () => {
  let pg: Postgres;
  const running: RunningLmtp[] = [];
  beforeAll(async () => {
    pg = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const r of running) await r.stop();
    await pg?.stop();
  });

  it('the same mails handed to both at once are each distributed once', async () => {
    const url = await pg.createDatabase('lmtp_workers');
    const root = await openListRoot('malist-lmtp-workers-');
    const hosts = await hostConfigs(root, ['a', 'b'], 'postgres', () => [
      'distribute:',
      '  type: pipe',
      '  command: sh',
      // A little time per post, so the two hosts' handling of one post overlaps.
      pipeArgs(root),
    ]);
    const servers = await Promise.all(
      hosts.map((dir) => startLmtpCli(['--config', dir], { DATABASE_URL: url })),
    );
    running.push(...servers);
    const results = await Promise.all(
      Array.from({ length: POSTS }, (_, i) => i).flatMap((i) =>
        servers.map((s) =>
          sendLmtp(s.port, 'poster@example.net', ['open@list.example.com'], mail(i)),
        ),
      ),
    );
    // Both hosts took every mail (250: handled, or found handled by the other).
    for (const r of results) expect(r.refused).toEqual({});
    const counts = await pipeCopies(root);
    expect(counts.size).toBe(POSTS * MEMBERS.length);
    expect([...counts.entries()].filter(([, n]) => n !== 1)).toEqual([]);
    expect(
      pg.psql("SELECT count(*) FROM malist_journal WHERE scope = '_mail'", 'lmtp_workers'),
    ).toBe(`${POSTS}\n`);
    expect(pg.psql('SELECT count(*) FROM malist_journal_claims', 'lmtp_workers')).toBe('0\n');
  }, 300_000);
});
