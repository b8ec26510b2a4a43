/**
 * The short fault suite inside `npm test`: a few faults from test/long/faults (421 at
 * connect, a 550 for one recipient, the connection closed mid-DATA, a full disk under the
 * spool), each through `malist receive` and the next run, counted at the SMTP server.
 * Every case of the long suite is `npm run test:faults`.
 */
import { describe, expect, it } from 'vitest';
import { startSmtpServer } from './helpers/smtp-server.ts';
import { diskCases, type FaultCase, runFault, smtpCases } from './long/faults/fault-cases.ts';

const wanted = [
  '421 at connect',
  '550 at RCPT (one of three)',
  'connection closed mid-DATA',
  'full disk on the spool (ENOSPC, simulated)',
];
const cases = [...smtpCases(), ...diskCases()].filter((c) => wanted.includes(c.name));

describe.concurrent('faults — short', () => {
  it('has every case it names', () => {
    expect(cases.map((c) => c.name).sort()).toEqual([...wanted].sort());
  });

  it.each(cases.map((c) => [c.name, c] as [string, FaultCase]))('%s', async (_name, fault) => {
    // One server per case: the rules of one must not meet the others' posts.
    const server = await startSmtpServer();
    try {
      const result = await runFault(server, fault);
      process.stdout.write(
        `fault ${result.fault}: exit ${result.exit}, ${result.delivered} delivered, ${result.deadLettered} dead-lettered, ${result.lost} lost, ${result.duplicated} duplicated; operator sees: ${result.sees}\n`,
      );
      expect(result.problems).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
