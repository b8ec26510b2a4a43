/**
 * `malist run` as users run it, with its default concurrency (several mails at once; fetch
 * and removal one at a time on the one POP3 or IMAP session), against a real Dovecot: every
 * post reaches every member once, the mailbox ends empty, and a second run finds nothing.
 */
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUN_CONCURRENCY } from '../../src/play.ts';
import { malist } from '../cli/run-malist.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';

const available = dovecotAvailable();
const POSTS = 3 * RUN_CONCURRENCY;
const members = ['m1@example.test', 'm2@example.test'];
let dovecot: Dovecot;

beforeAll(async () => {
  if (!available) return;
  dovecot = await startDovecot({ users: ['cpop', 'cimap'] });
}, 60_000);
afterAll(() => dovecot?.stop());

function post(i: number, kind: string): string {
  return (
    `From: poster${i}@example.test\r\nTo: test@list.example.test\r\n` +
    `Subject: ${kind} post ${i}\r\nMessage-ID: <${kind}-${i}@example.test>\r\n\r\nBody ${i}\r\n`
  );
}

describe.skipIf(!available)(`malist run, ${RUN_CONCURRENCY} mails at once`, () => {
  it.each([
    ['pop3', 'cpop'],
    ['imap', 'cimap'],
  ] as const)('%s: every post once to every member, the mailbox emptied', async (type, user) => {
    const dir = await mkdtemp(join(tmpdir(), `malist-run-${type}-`));
    await mkdir(join(dir, 'lists'));
    const port = type === 'pop3' ? dovecot.ports.pop3s : dovecot.ports.imaps;
    await writeFile(
      join(dir, 'malist.yaml'),
      `state_dir: ./state
fetch:
  - type: ${type}
    host: 127.0.0.1
    port: ${port}
    tls: implicit
    ca_file: ${dovecot.caFile}
    user: ${dovecot.address(user)}
    password_env: MALIST_TEST_PASSWORD
distribute:
  type: maildir
  dir: ./out
`,
    );
    await writeFile(
      join(dir, 'lists', 'test.yaml'),
      `address: test@list.example.test\nposting: open\nmembers: [${members.join(', ')}]\n`,
    );
    for (let i = 0; i < POSTS; i++) await dovecot.deliver(user, post(i, type));
    const env = { MALIST_TEST_PASSWORD: dovecot.password(user) };
    const first = await malist(['run', '--config', dir], { env });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`fetched ${POSTS} from ${type}`);
    for (const m of members)
      expect(await readdir(join(dir, 'out', m, 'new')), m).toHaveLength(POSTS);
    expect(await dovecot.messages(user)).toHaveLength(0);
    const second = await malist(['run', '--config', dir], { env });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`fetched 0 from ${type}`);
    for (const m of members) expect(await readdir(join(dir, 'out', m, 'new'))).toHaveLength(POSTS);
  });
});
