/**
 * Routing by the envelope alone: `--list` naming a request or bounce address, or an
 * envelope recipient given by the MTA, decides where a mail goes — never the To/Cc a
 * sender wrote. A request is answered (not posted), a bounce is read (not posted).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { inbox, mail, NO_ENVELOPE } from './cli-mail.ts';

const MEMBERS = ['alice@example.org', 'bob@example.net', 'carol@example.org'];

async function membersGot(dir: string, id: string): Promise<number> {
  let n = 0;
  for (const m of MEMBERS) n += (await inbox(dir, m)).filter((t) => t.includes(id)).length;
  return n;
}

describe('routing by the envelope alone', () => {
  const request = (id: string) =>
    mail({
      From: 'dave@example.com',
      // What the sender wrote says "post"; the envelope says "request".
      To: 'red@list.example.com',
      Subject: 'subscribe',
      'Message-ID': `<${id}@example.com>`,
    });

  it('--list red-request@… is a request, whatever To says', async () => {
    const dir = await tempConfig();
    const ran = await malist(
      ['receive', '--config', dir, '--list', 'red-request@list.example.com'],
      { input: request('r1'), env: NO_ENVELOPE },
    );
    expect(ran.code, ran.stderr).toBe(0);
    expect(
      (await inbox(dir, 'dave@example.com')).some((m) => /confirm [0-9a-f]{32}-/.test(m)),
    ).toBe(true);
    expect(await membersGot(dir, 'r1@example.com')).toBe(0);
    expect(await readdir(join(dir, 'state/held/red')).catch(() => [])).toEqual([]);
  }, 60_000);

  it('an envelope recipient from the MTA (--recipient, RECIPIENT) routes alone', async () => {
    for (const [args, env] of [
      [['--recipient', 'red-request@list.example.com'], NO_ENVELOPE],
      [[], { ...NO_ENVELOPE, RECIPIENT: 'red-request@list.example.com' }],
    ] as const) {
      const dir = await tempConfig();
      const ran = await malist(['receive', '--config', dir, ...args], {
        input: request('r2'),
        env,
      });
      expect(ran.code, ran.stderr).toBe(0);
      expect(
        (await inbox(dir, 'dave@example.com')).some((m) => /confirm [0-9a-f]{32}-/.test(m)),
      ).toBe(true);
      expect(await membersGot(dir, 'r2@example.com')).toBe(0);
    }
  }, 120_000);

  it('--list red-bounces@… reads a bounce; it never becomes a post', async () => {
    const dir = await tempConfig();
    const dsn = await readFile(
      join(import.meta.dirname, '..', 'fixtures', 'corpus', '050-dsn-postfix-base64-parts.eml'),
    );
    const ran = await malist(
      ['receive', '--config', dir, '--list', 'red-bounces@list.example.com'],
      { input: dsn, env: NO_ENVELOPE },
    );
    expect(ran.code, ran.stderr).toBe(0);
    for (const m of MEMBERS) expect(await inbox(dir, m), m).toEqual([]);
    expect(await readdir(join(dir, 'state/held/red')).catch(() => [])).toEqual([]);
  }, 60_000);
});
