/**
 * The distributor contract suite (DESIGN.md, "The contracts"): every distributor runs it
 * (`testDistributor(name, make)`), as fetchers and member stores run theirs.
 *
 * - The report speaks of each envelope recipient once, in the distributor's name, with a
 *   status (or of none, for a distributor that only keeps a copy: archive).
 * - The post arrives, once per recipient (or once, for a single copy).
 * - Distributing the same post again (a retry after a crash before the journal) delivers
 *   nothing twice — unless the distributor says it keeps no state (smtp, sendmail, log), and
 *   then the suite shows that it does send again, so the claim stays true.
 * - A target that cannot take the post makes the distributor throw or report the recipients
 *   deferred, failed or (a durable queue) queued, with the reason: never delivered.
 * - Where the target can refuse one recipient (SMTP's 5xx), that recipient alone is failed.
 */
import { describe, expect, it } from 'vitest';
import { createListMail } from '../../src/mail/list-mail.ts';
import type { Distributor, ListMail, RecipientResult } from '../../src/types.ts';

/** One distributor wired to a target the test can read and break. */
export interface DistributorUnderTest {
  distributor: Distributor;
  /**
   * Copies of the post with this Message-ID the target holds, per recipient; a target that
   * keeps one copy for all (a mailbox, a log) counts it under '*'.
   */
  received(messageId: string): Promise<Record<string, number>>;
  /** Makes the target refuse one recipient for good (SMTP 5xx at RCPT). */
  refuse?(recipient: string): void;
  close?(): Promise<void>;
}

export interface ContractOptions {
  /** The report names no recipient (a side copy, like the archive). @default false */
  silent?: boolean;
  /**
   * It reports what the distributors inside it said (multiple, deliver-to): a recipient may
   * have several results, in those distributors' names. @default false
   */
  composite?: boolean;
  /** One copy for all recipients, counted under '*'. @default false */
  single?: boolean;
  /**
   * Why a repeat sends again, for a distributor that keeps no state of its own (play()'s
   * journal is what stops the repeat). Unset: the distributor must be idempotent.
   */
  notIdempotent?: string;
  skip?: boolean;
}

let counter = 0;

/** A post from the list to `to`, with a fresh Message-ID (and so a fresh key). */
export function contractPost(to: string[]): { mail: ListMail; messageId: string } {
  const messageId = `contract-${process.pid}-${++counter}@list.example.test`;
  const raw = Buffer.from(
    `From: Alice <alice@example.test>\r\nTo: red@list.example.test\r\nSubject: contract ${counter}\r\n` +
      `Message-ID: <${messageId}>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0000\r\n\r\nhello \xe9\r\n`,
    'latin1',
  );
  const mail = createListMail(raw, { fetcher: 'contract', id: String(counter) });
  mail.ml_sender = 'red-bounces@list.example.test';
  mail.ml_send_to = to;
  mail.ml_list_name = 'red';
  mail.ml_list = 'Red <red@list.example.test>';
  return { mail, messageId };
}

const TO = ['bob@example.test', 'carol@example.org'];

/** What a report says of each recipient, combined as play() combines it. */
export function outcomes(results: RecipientResult[]): Record<string, string> {
  const out: Record<string, string> = {};
  const rank = ['delivered', 'queued', 'deferred', 'failed'];
  for (const r of results) {
    const before = out[r.recipient];
    if (before === undefined || rank.indexOf(r.status) > rank.indexOf(before))
      out[r.recipient] = r.status;
  }
  return out;
}

export function testDistributor(
  name: string,
  /** `broken`: wired to a target that cannot take mail (server down, path unusable). */
  make: (broken?: boolean) => Promise<DistributorUnderTest>,
  opts: ContractOptions = {},
): void {
  const expected = (copies: number): Record<string, number> =>
    opts.single ? { '*': copies } : Object.fromEntries(TO.map((r) => [r, copies]));

  describe.skipIf(opts.skip ?? false)(`distributor contract: ${name}`, () => {
    it('reports each recipient once, in its own name, and the post arrives once each', async () => {
      const t = await make();
      try {
        const { mail, messageId } = contractPost([...TO]);
        const report = await t.distributor.distribute(mail);
        if (opts.silent) expect(report.results).toEqual([]);
        else {
          const said = outcomes(report.results);
          expect(Object.keys(said).sort()).toEqual([...TO].sort());
          for (const status of Object.values(said))
            expect(['delivered', 'queued']).toContain(status);
          if (!opts.composite) {
            expect(report.results).toHaveLength(TO.length);
            for (const r of report.results) expect(r.distributor).toBe(t.distributor.name);
          }
        }
        expect(await t.received(messageId)).toEqual(expected(1));
      } finally {
        await t.close?.();
      }
    });

    it(
      opts.notIdempotent
        ? `sends again on a repeat: ${opts.notIdempotent}`
        : 'delivers nothing twice when the same post is distributed again',
      async () => {
        const t = await make();
        try {
          const { mail, messageId } = contractPost([...TO]);
          await t.distributor.distribute(mail);
          await t.distributor.distribute(mail);
          expect(await t.received(messageId)).toEqual(expected(opts.notIdempotent ? 2 : 1));
        } finally {
          await t.close?.();
        }
      },
    );

    it('a target that cannot take the post is reported, never as delivered', async () => {
      const t = await make(true);
      try {
        const { mail } = contractPost([...TO]);
        let results: Awaited<ReturnType<Distributor['distribute']>>['results'] | undefined;
        try {
          results = (await t.distributor.distribute(mail)).results;
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
        }
        if (results && !opts.silent) {
          const said = outcomes(results);
          expect(Object.keys(said).sort()).toEqual([...TO].sort());
          // `queued`: a durable queue owns the post and retries it; it says why it waits.
          for (const status of Object.values(said))
            expect(['queued', 'deferred', 'failed']).toContain(status);
          for (const r of results.filter((x) => x.status !== 'delivered'))
            expect(r.response ?? r.code).toBeDefined();
        }
      } finally {
        await t.close?.();
      }
    });

    it.skipIf(opts.silent || opts.single)(
      'a recipient the target refuses fails alone; the others arrive',
      async () => {
        const t = await make();
        if (!t.refuse) {
          await t.close?.();
          return;
        }
        try {
          t.refuse('carol@example.org');
          const { mail, messageId } = contractPost([...TO]);
          const report = await t.distributor.distribute(mail);
          const status = outcomes(report.results);
          expect(status['carol@example.org']).toBe('failed');
          expect(['delivered', 'queued']).toContain(status['bob@example.test']);
          expect((await t.received(messageId))['bob@example.test']).toBe(1);
        } finally {
          await t.close?.();
        }
      },
    );
  });
}
