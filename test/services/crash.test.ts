/**
 * Crash safety through the SES transport, as with SMTP's 250 (test/queue/crash-points.test.ts):
 * a runner killed (SIGKILL via MALIST_CRASH_AT) right after the sent-log took a call SES
 * accepted, or between SES's 200 and the sent-log, then an ordinary run. What the sent-log
 * holds is never sent again; nobody is missed; only a call accepted and not yet logged
 * (the window no client of any service can close) may go twice.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueue } from '../../src/queue/queue.ts';
import { createSesTransport } from '../../src/smtp/services/ses.ts';
import { type FakeService, startFakeSes, TEST_AWS } from '../helpers/fake-services.ts';
import { tempDir } from '../queue/helpers.ts';
import { testMessage } from '../smtp/fixtures.ts';

const CHILD = join(import.meta.dirname, '../helpers/queue-run-ses-child.ts');
const RECIPIENTS = ['a@x.test', 'b@x.test', 'c@x.test'];

let fake: FakeService;
beforeAll(async () => {
  fake = await startFakeSes();
});
afterAll(() => fake?.stop());

const ses = () =>
  createSesTransport(
    {
      region: TEST_AWS.region,
      endpoint: fake.url,
      access_key_id: TEST_AWS.keyId,
      secret_access_key: TEST_AWS.secret,
      max_recipients_per_call: 1,
    },
    {},
  );

/** Calls SES accepted for `id`, per recipient. */
const count = (recipient: string, id: string) =>
  fake.calls.filter(
    (c) => c.status === 200 && c.to.includes(recipient) && c.raw.includes(`<${id}>`),
  ).length;

const cases: Array<{ point: string; exact: string[] }> = [
  { point: 'queue.after-claim', exact: RECIPIENTS },
  // a and b accepted and in the sent-log before the kill: c once, a and b never again.
  { point: 'queue.after-sent-log:2', exact: ['a@x.test', 'b@x.test'] },
  // a logged; b accepted by SES and not yet logged.
  { point: 'queue.after-smtp-reply:2', exact: ['a@x.test'] },
  { point: 'queue.before-envelope-update', exact: RECIPIENTS },
];

describe('crash points with the SES transport', () => {
  it.each(cases)(
    'killed at $point: a call SES accepted and the sent-log took is not sent again',
    async ({ point, exact }) => {
      const temp = await tempDir();
      try {
        const spool = join(temp.dir, 'spool');
        const id = `ses-${point.replace(/[^a-z0-9]/gi, '-')}@example.com`;
        const queue = createQueue({ dir: spool, deliver_now: false }, { transport: ses() });
        await queue.enqueue({
          id: `crash-${point.replace(/[^a-z0-9]/gi, '-')}`,
          raw: testMessage(id.replace('@example.com', '')),
          sender: 'b@l.test',
          recipients: RECIPIENTS,
        });
        await queue.close();
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, spool, fake.url], {
          stdio: 'ignore',
          env: { ...process.env, MALIST_CRASH_AT: point },
        });
        const signal = await new Promise((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
        expect(signal, `the runner should have crashed at ${point}`).toBe('SIGKILL');
        const again = createQueue({ dir: spool }, { transport: ses() });
        await again.run();
        expect((await again.list()).filter((e) => e.where !== 'dead')).toEqual([]);
        await again.close();
        for (const r of RECIPIENTS) {
          if (exact.includes(r)) expect(count(r, id), r).toBe(1);
          else expect([1, 2], r).toContain(count(r, id));
        }
      } finally {
        await temp.remove();
      }
    },
    60_000,
  );
});
