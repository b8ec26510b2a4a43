/**
 * Issue 16's attacks on the request address, each through `malist receive` as an MTA runs it
 * (a child process per mail, delivering into maildirs): a request mail cannot be turned into
 * a mail cannon, the daily limit holds per real mailbox across parallel processes, and an
 * address the stores would read back differently is refused with a clear reply — it never
 * reaches a member file, so no later start of any list is stopped by it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { malist, tempConfig } from '../cli/run-malist.ts';
import { mail, NO_ENVELOPE } from './cli-mail.ts';

/** A request with an empty body: the command is in the subject. */
const ask = (headers: Record<string, string>) => mail(headers, '');

function receive(dir: string, input: string) {
  return malist(['receive', '--config', dir], { input, env: NO_ENVELOPE, timeoutMs: 90_000 });
}

/** Every mail delivered into `out/`, with the mailbox it went to. */
async function delivered(dir: string): Promise<Array<{ to: string; text: string }>> {
  const out: Array<{ to: string; text: string }> = [];
  for (const to of await readdir(join(dir, 'out')).catch(() => [] as string[])) {
    const box = join(dir, 'out', to, 'new');
    for (const f of await readdir(box).catch(() => [] as string[]))
      out.push({ to, text: await readFile(join(box, f), 'utf8') });
  }
  return out;
}

describe('requests that cannot be used as a weapon', () => {
  it('one forged request mail with ten subscribe lines sends one confirmation, and echoes nothing', async () => {
    const dir = await tempConfig();
    const lines = Array.from({ length: 10 }, (_, i) => `subscribe victim+${i}@example.net`);
    const ran = await receive(
      dir,
      mail(
        {
          From: 'victim@example.net',
          To: 'red-request@list.example.com',
          Subject: 'hello',
          'Message-ID': '<amplify@attacker.example>',
        },
        [...lines, 'BUY CHEAP PILLS AT http://attacker.example/'].join('\n'),
      ),
    );
    expect(ran.code, ran.stderr).toBe(0);
    const out = await delivered(dir);
    const confirmations = out.filter((m) => /confirm [0-9a-f]{32}-[0-9a-f]{24}/.test(m.text));
    expect(confirmations).toHaveLength(1);
    // At most the confirmation and one answer to the (unverified) From: no cannon.
    expect(out.length).toBeLessThanOrEqual(2);
    for (const m of out) {
      expect(m.text).not.toContain('PILLS');
      expect(m.text).not.toContain('attacker.example/');
      // Other addresses the forger named are not echoed to the From either.
      if (m.to === 'victim@example.net') expect(m.text).not.toMatch(/victim\+[1-9]@/);
    }
  }, 120_000);

  it('the daily limit holds per real mailbox (+tag, quotes, case) across 16 parallel processes', async () => {
    const dir = await tempConfig();
    const forms = (i: number) =>
      [`victim+${i}@example.net`, `"victim+q${i}"@Example.NET`, `VICTIM@example.net`][i % 3]!;
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        receive(
          dir,
          ask({
            From: forms(i),
            To: 'red-request@list.example.com',
            Subject: 'subscribe',
            'Message-ID': `<parallel-${i}@attacker.example>`,
          }),
        ),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const toVictim = (await delivered(dir)).filter((m) =>
      /^"?victim/i.test(m.to.replace(/^"/, '')),
    );
    // The default budget is 10 notices a day per mailbox; 16 requests would send 16 or more.
    expect(toVictim.length).toBeGreaterThan(0);
    expect(toVictim.length).toBeLessThanOrEqual(10);
  }, 300_000);

  it.each([
    ['a#b@attacker.example', '#'],
    ['"ab"@attacker.example', 'quotes'],
    ['victim@example.org#@attacker.example', 'the opt-in bypass'],
    ['(x)victim@example.org', 'a comment'],
  ])(
    'subscribe %s (%s) is refused with a clear reply; the list keeps working',
    async (address) => {
      const dir = await tempConfig();
      const ran = await receive(
        dir,
        ask({
          From: 'mallory@attacker.example',
          To: 'red-request@list.example.com',
          Subject: `subscribe ${address}`,
          'Message-ID': '<grammar@attacker.example>',
        }),
      );
      expect(ran.code, ran.stderr).toBe(0);
      const out = await delivered(dir);
      // No confirmation anywhere: nothing to confirm, no token for attacker.example.
      expect(out.filter((m) => /confirm [0-9a-f]{32}-/.test(m.text))).toEqual([]);
      const reply = out.find((m) => m.to === 'mallory@attacker.example');
      expect(reply?.text).toMatch(/cannot be subscribed here/);
      expect(await readFile(join(dir, 'lists/red.yaml'), 'utf8')).not.toContain('attacker');
      // The configuration still loads and the list still delivers.
      const check = await malist(['check', '--config', dir]);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      const post = await receive(
        dir,
        ask({
          From: 'alice@example.org',
          To: 'red@list.example.com',
          Subject: 'still here',
          'Message-ID': '<after-attack@example.org>',
        }),
      );
      expect(post.code, post.stderr).toBe(0);
      expect((await delivered(dir)).some((m) => m.to === 'bob@example.net')).toBe(true);
    },
    120_000,
  );
});
