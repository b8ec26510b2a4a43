import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createListMail } from '../mail/list-mail.ts';
import { statusOfExit } from './run-command.ts';
import createSendmailDistributor from './sendmail.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'malist-sendmail-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fake sendmail that records its arguments and input, then exits with `code`. */
async function fakeSendmail(code: number): Promise<string> {
  const path = join(dir, 'sendmail');
  await writeFile(
    path,
    `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/args"\ncat > "${dir}/input"\necho oops >&2\nexit ${code}\n`,
  );
  await chmod(path, 0o755);
  return path;
}

function post() {
  const mail = createListMail(Buffer.from('Subject: s\r\n\r\nbody\r\n'), {
    fetcher: 'test',
    id: '1',
  });
  mail.ml_sender = 'red-bounces@list.test';
  mail.ml_send_to = ['a@x.test', 'hidden@x.test'];
  return mail;
}

describe('sendmail distributor', () => {
  it('passes the envelope as arguments (never -t) and the bytes on stdin', async () => {
    const sendmail = createSendmailDistributor({ path: await fakeSendmail(0) });
    const report = await sendmail.distribute(post());
    expect(report.results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    expect((await readFile(join(dir, 'args'), 'utf8')).split('\n')).toEqual([
      '-i',
      '-f',
      'red-bounces@list.test',
      '--',
      'a@x.test',
      'hidden@x.test',
      '',
    ]);
    expect(await readFile(join(dir, 'input'), 'utf8')).toBe('Subject: s\r\n\r\nbody\r\n');
  });

  it('maps exit codes: 75 deferred, 67 failed', async () => {
    expect(statusOfExit(75)).toBe('deferred');
    expect(statusOfExit(67)).toBe('failed');
    expect(statusOfExit(null)).toBe('deferred');
    const report = await createSendmailDistributor({ path: await fakeSendmail(75) }).distribute(
      post(),
    );
    expect(report.results[0]).toMatchObject({
      status: 'deferred',
      response: expect.stringMatching(/75: oops/),
    });
  });

  it('a missing binary is an error, nothing assumed sent', async () => {
    await expect(
      createSendmailDistributor({ path: join(dir, 'none') }).distribute(post()),
    ).rejects.toThrow(/cannot run/);
  });
});
