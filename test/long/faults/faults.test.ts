/**
 * `npm run test:faults` — every SMTP, network and disk fault the fault suite knows (see
 * fault-cases.ts), each through `malist receive` then the next run, counted at the SMTP
 * server; and a POP3/IMAP connection cut in the middle of a download (a proxy in front of
 * a real Dovecot). The table (with what the operator sees) is printed and written to
 * var/reliability/faults-long.json.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dovecot, dovecotAvailable, startDovecot } from '../../helpers/dovecot.ts';
import { startSmtpServer, type TestSmtpServer } from '../../helpers/smtp-server.ts';
import { reportDir } from '../crash/harness.ts';
import { diskCases, type FaultResult, formatFaults, runFault, smtpCases } from './fault-cases.ts';
import { type DropResult, formatDrops, runDrop } from './mailbox-drop.ts';

const rows: FaultResult[] = [];
const drops: DropResult[] = [];

afterAll(async () => {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const table = [
    formatFaults(rows, 'fault suite: SMTP, network and disk faults through malist receive'),
    drops.length ? formatDrops(drops) : '',
  ].join('\n\n');
  process.stdout.write(`\n${table}\n`);
  await mkdir(reportDir(), { recursive: true });
  await writeFile(
    join(reportDir(), 'faults-long.json'),
    `${JSON.stringify({ at: new Date().toISOString(), rows, drops, table }, null, 2)}\n`,
  );
  await writeFile(join(reportDir(), 'faults-long.txt'), `${table}\n`);
});

describe('SMTP, network and disk faults', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(() => server?.stop());

  for (const fault of [...smtpCases(), ...diskCases()]) {
    it(fault.name, async () => {
      const result = await runFault(server, fault);
      rows.push(result);
      expect(result.problems).toEqual([]);
    });
  }

  it('STARTTLS with a certificate the client does not trust', async () => {
    const tls = await startSmtpServer({ starttls: true });
    try {
      const result = await runFault(tls, {
        name: 'TLS certificate not trusted (STARTTLS)',
        smtp: { starttls: 'required' },
        tells: /certificate|self.signed|TLS|verify/i,
        healSmtp: { starttls: 'required', tls: { reject_unauthorized: false } },
      });
      rows.push(result);
      expect(result.problems).toEqual([]);
    } finally {
      await tls.stop();
    }
  });
});

describe.skipIf(!dovecotAvailable())('a mailbox connection dropped mid-download', () => {
  let dovecot: Dovecot;
  beforeAll(async () => {
    dovecot = await startDovecot({ users: ['d0', 'd1', 'd2', 'd3'] });
  }, 60_000);
  afterAll(() => dovecot?.stop());

  it.each([
    ['pop3', 'd0'],
    ['imap', 'd1'],
  ] as const)('%s', async (kind, user) => {
    const result = await runDrop(dovecot, kind, user);
    drops.push(result);
    expect(result.problems).toEqual([]);
  });
});
