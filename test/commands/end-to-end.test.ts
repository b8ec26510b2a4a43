/**
 * Membership by mail, end to end against a real Dovecot and an SMTP server: the list's
 * mailbox is read over IMAP (TLS) by play(); what malist sends goes to the test SMTP
 * server, which the test relays into the recipients' Dovecot mailboxes (the MTA's job).
 * A newcomer mails subscribe, gets the confirmation, replies to it, and receives the next
 * post; leaves the same way; a forged confirmation changes nothing.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import createBounceHandler from '../../src/bounces/handler.ts';
import { withRefusalRecording } from '../../src/bounces/refusals.ts';
import createRequestHandler from '../../src/commands/request.ts';
import { distributorSender } from '../../src/config/moderation.ts';
import createArchiveDistributor from '../../src/distributors/archive.ts';
import createSmtpDistributor from '../../src/distributors/smtp.ts';
import createImapFetcher from '../../src/fetchers/imap.ts';
import { memberBounceAddress } from '../../src/list/verp.ts';
import createYamlMemberStore from '../../src/members/yaml.ts';
import { play } from '../../src/play.ts';
import createManyLists from '../../src/processors/many-lists.ts';
import createSingleList from '../../src/processors/single-list.ts';
import { TokenStore } from '../../src/state/tokens.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { hardBounce } from '../helpers/dsn.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const available = dovecotAvailable();
const secret = Buffer.alloc(32, 5);

describe.skipIf(!available)('membership by mail, end to end (Dovecot + SMTP)', () => {
  let dovecot: Dovecot;
  let smtp: TestSmtpServer;
  let dir: string;
  let listFile: string;
  let relayed = 0;

  beforeAll(async () => {
    dovecot = await startDovecot({
      users: ['red', 'newcomer', 'alice', 'mallory', 'bob', 'carol'],
    });
    smtp = await startSmtpServer();
    dir = await mkdtemp(join(tmpdir(), 'malist-e2e-'));
    listFile = join(dir, 'red.yaml');
    await writeFile(
      listFile,
      `# The red list\naddress: red@example.test\nsubject_prefix: "[Red] "\nmembers:\n  - alice@example.test # founder\n`,
    );
  });

  afterAll(async () => {
    await smtp?.stop();
    await dovecot?.stop();
  });

  const store = () => createYamlMemberStore({ file: listFile });

  /** One cron run: fetch the list mailbox over IMAP, process, send by SMTP; then the MTA relays. */
  async function run() {
    const red = createSingleList({
      name: 'red',
      address: 'red@example.test',
      display_name: 'Red',
      members: [],
      subject_prefix: '[Red] ',
      member_store: store(),
      pipeline: ['loop-guard', 'subject-prefix', 'list-headers', 'envelope'],
    });
    const tokens = new TokenStore(join(dir, 'state', 'tokens'), Buffer.alloc(32, 3));
    const processor = createManyLists({
      lists: [red],
      no_match: 'discard',
      handlers: {
        red: {
          request: createRequestHandler(red.list, {
            store: store(),
            tokens,
            state_dir: join(dir, 'state'),
          }),
          // Three bounces a day may count here, so the test needs no clock games.
          bounces: createBounceHandler(red.list, {
            store: store(),
            state_dir: join(dir, 'state'),
            secret,
            threshold: 3,
            daily_cap: 3,
            owners: ['alice@example.test'],
          }),
        },
      },
    });
    const smtpOut = createSmtpDistributor({
      host: '127.0.0.1',
      port: smtp.port,
      starttls: 'never',
    });
    const sender = withRefusalRecording(smtpOut, {
      secret,
      state_dir: join(dir, 'state'),
      lists: {
        red: {
          list: red.list,
          store: store(),
          state_dir: join(dir, 'state'),
          threshold: 2,
          daily_cap: 2,
          owners: ['alice@example.test'],
        },
      },
      // Notices and probes go out through the same SMTP server (relayed below, like posts).
      send: distributorSender([smtpOut]),
    });
    const summary = await play({
      fetcher: createImapFetcher({
        host: '127.0.0.1',
        port: dovecot.ports.imaps,
        tls: 'implicit',
        caFile: dovecot.caFile,
        user: dovecot.address('red'),
        password: dovecot.password('red'),
        stateDir: join(dir, 'state'),
      }),
      processor,
      distributor: [sender, createArchiveDistributor({ dir: join(dir, 'archive') })],
      stateDir: join(dir, 'state'),
    });
    await smtpOut.close?.();
    expect(summary.fetchError).toBeUndefined();
    expect(summary.failed + summary.quarantined).toBe(0);
    // The MTA: everything accepted goes into the recipients' mailboxes.
    for (const message of smtp.accepted.slice(relayed)) {
      for (const to of message.to) await dovecot.deliver(to.split('@')[0]!, message.raw);
    }
    relayed = smtp.accepted.length;
    return summary;
  }

  async function inbox(user: string) {
    return Promise.all((await dovecot.messages(user)).map(async (m) => simpleParser(m.raw)));
  }

  async function lastTo(user: string) {
    const all = await inbox(user);
    return all.at(-1)!;
  }

  const mailFrom = (from: string, to: string, subject: string, body = '', extra = '') =>
    `From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random().toString(36).slice(2)}@example.test>\r\nDate: ${new Date().toUTCString()}\r\n${extra}\r\n${body}\r\n`;

  it('subscribe → confirmation → reply → the newcomer receives the next post', async () => {
    await dovecot.deliver(
      'red',
      mailFrom('Newcomer <newcomer@example.test>', 'red-request@example.test', 'subscribe'),
    );
    await run();
    const confirmation = await lastTo('newcomer');
    expect(confirmation.subject).toMatch(/^confirm [0-9a-f]{32}-[0-9a-f]{24}$/);
    expect(confirmation.headers.get('auto-submitted')).toBe('auto-replied');
    expect((await store().list()).map((m) => m.address)).toEqual(['alice@example.test']);

    // A forged confirmation (right shape, wrong MAC), from someone else: nothing happens.
    const forged = `${confirmation.subject!.slice(8, 41)}${'f'.repeat(24)}`;
    await dovecot.deliver(
      'red',
      mailFrom('mallory@example.test', 'red-request@example.test', `confirm ${forged}`),
    );
    await run();
    expect((await lastTo('mallory')).text).toMatch(/nothing was done/);
    expect((await store().list()).map((m) => m.address)).toEqual(['alice@example.test']);

    // The newcomer's mail client replies to the confirmation, quoting it.
    const replyTo = (confirmation.replyTo?.value[0]?.address ?? '') as string;
    expect(replyTo).toBe('red-request@example.test');
    const quoted = (confirmation.text ?? '')
      .split('\n')
      .map((l) => `> ${l}`)
      .join('\r\n');
    await dovecot.deliver(
      'red',
      mailFrom(
        'newcomer@example.test',
        replyTo,
        `Re: ${confirmation.subject}`,
        `Yes, please.\r\n\r\n${quoted}`,
        `In-Reply-To: ${confirmation.messageId}\r\n`,
      ),
    );
    await run();
    expect((await lastTo('newcomer')).subject).toBe('Welcome to the Red list');
    expect((await store().list()).map((m) => m.address)).toEqual([
      'alice@example.test',
      'newcomer@example.test',
    ]);
    const yaml = await readFile(listFile, 'utf8');
    expect(yaml).toContain('# The red list');
    expect(yaml).toContain('alice@example.test # founder');

    await dovecot.deliver(
      'red',
      mailFrom(
        'alice@example.test',
        'red@example.test',
        'First post after you joined',
        'Hello newcomer!',
      ),
    );
    await run();
    const post = await lastTo('newcomer');
    expect(post.subject).toBe('[Red] First post after you joined');
    expect(post.text).toContain('Hello newcomer!');
    expect(post.headerLines.map((l) => l.key)).toContain('list-id');
  }, 60_000);

  it('leave the same way (LIST-leave@), then no more posts; the archive kept the posts only', async () => {
    await dovecot.deliver('red', mailFrom('newcomer@example.test', 'red-leave@example.test', ''));
    await run();
    const confirmation = await lastTo('newcomer');
    expect(confirmation.subject).toMatch(/^confirm /);
    await dovecot.deliver(
      'red',
      mailFrom('newcomer@example.test', 'red-request@example.test', `Re: ${confirmation.subject}`),
    );
    await run();
    expect((await lastTo('newcomer')).subject).toBe('You have left the Red list');
    expect((await store().list()).map((m) => m.address)).toEqual(['alice@example.test']);
    const before = (await inbox('newcomer')).length;
    await dovecot.deliver(
      'red',
      mailFrom('alice@example.test', 'red@example.test', 'After you left', 'bye'),
    );
    await run();
    expect(await inbox('newcomer')).toHaveLength(before);
    expect((await lastTo('alice')).subject).toBe('[Red] After you left');
    const month = new Date().toISOString().slice(0, 7);
    const archived = await readFile(join(dir, 'archive', 'red', `${month}.mbox`), 'latin1');
    expect(archived.match(/^Subject: .*$/gm)).toEqual([
      'Subject: [Red] First post after you joined',
      'Subject: [Red] After you left',
    ]);
    expect(smtp.duplicates()).toEqual([]);
  }, 60_000);

  it('a member whose posts bounce (DSNs to the VERP address) is probed, then set to nomail and told', async () => {
    await store().add({ address: 'bob@example.test' });
    const list = { name: 'red', address: 'red@example.test', members: [] };
    const bobVerp = memberBounceAddress(list, secret, 'bob@example.test', Date.now());
    // Forged: the VERP address without its cookie, and a report to the plain address naming
    // a Message-ID the list never sent bob. Neither counts.
    for (const to of ['red-bounces+bob=example.test@example.test', 'red-bounces@example.test'])
      await dovecot.deliver(
        'red',
        hardBounce({ to, recipient: 'bob@example.test', n: `forged-${to}`, returned: '<x@y>' }),
      );
    for (let i = 0; i < 3; i++) {
      const dsn = hardBounce({
        to: bobVerp,
        recipient: 'bob@example.test',
        n: i,
        mta: 'mx.example.test',
      });
      await dovecot.deliver('red', dsn);
    }
    // An auto-reply to the VERP address counts for nothing.
    await dovecot.deliver(
      'red',
      mailFrom(
        'bob@example.test',
        bobVerp,
        'Out of office',
        'Back Monday',
        'Auto-Submitted: auto-replied\r\n',
      ),
    );
    await run();
    // At the threshold bob is probed, not disabled: the probe has its own VERP cookie.
    expect((await store().get('bob@example.test'))?.nomail).toBeUndefined();
    const probe = smtp.accepted.find(
      (m) => m.to.includes('bob@example.test') && /This message is a test/.test(m.raw.toString()),
    );
    expect(probe?.from).toMatch(/^red-bounces\+bob=example\.test\+[a-z2-7]{10}@example\.test$/);
    expect(probe?.from).not.toBe(bobVerp);
    // The probe bounces too.
    await dovecot.deliver(
      'red',
      hardBounce({
        to: probe!.from,
        recipient: 'bob@example.test',
        n: 'probe',
        mta: 'mx.example.test',
      }),
    );
    await run();
    expect(await store().get('bob@example.test')).toEqual({
      address: 'bob@example.test',
      nomail: true,
      nomail_reason: 'bounce',
    });
    const told = await lastTo('bob');
    expect(told.subject).toBe('Your mail from the Red list is stopped');
    expect(told.text).toMatch(/set mail/);
    const owner = await lastTo('alice');
    expect(owner.subject).toBe('bob@example.test set to nomail on Red (bounces)');
    expect(owner.text).toMatch(/probe, VERP cookie/);
    // And bob gets no more posts.
    const before = (await inbox('bob')).length;
    await dovecot.deliver(
      'red',
      mailFrom('alice@example.test', 'red@example.test', 'Bob is on nomail', 'x'),
    );
    await run();
    expect(await inbox('bob')).toHaveLength(before);
  }, 60_000);

  it('550 answers at delivery time count as bounces: after two the member is probed; the probe is refused too, so nomail, and the owner is told', async () => {
    await store().add({ address: 'carol@example.test' });
    smtp.addRule({
      stage: 'rcpt',
      recipient: 'carol@example.test',
      reply: { code: 550, message: '5.1.1 no such user' },
    });
    for (let i = 0; i < 2; i++) {
      await dovecot.deliver(
        'red',
        mailFrom('alice@example.test', 'red@example.test', `Post ${i} carol cannot take`, 'x'),
      );
      await run();
    }
    smtp.clearRules();
    expect(await store().get('carol@example.test')).toEqual({
      address: 'carol@example.test',
      nomail: true,
      nomail_reason: 'bounce',
    });
    // Carol's own notice is refused like everything else to her; the owner hears of it.
    const owner = await lastTo('alice');
    expect(owner.subject).toBe('carol@example.test set to nomail on Red (bounces)');
    expect(owner.text).toMatch(/refused at delivery/);
  }, 60_000);
});
