/**
 * Every bounce in test/fixtures/corpus yields the right address and hard/soft class; every
 * auto-reply, receipt, report and ordinary post is classified as not a bounce.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyBounce } from '../../src/bounces/classify.ts';
import { CORPUS_DIR as CORPUS, corpusFiles } from '../helpers/corpus.ts';

/** file → [address, class, action] of the first recipient and the recipient count. */
const BOUNCES: Record<
  string,
  { address: string; class: 'hard' | 'soft'; action?: string; count?: number; format?: string }
> = {
  '045-dsn-via-list-list-id.eml': { address: 'jangel1@cougar.noc.ucla.edu', class: 'soft' },
  // 5.4.6 "Too many hops": a routing loop at the member's end, not a dead address (severity.ts).
  '046-dsn-truncated-boundary-two-to.eml': { address: 'scoffman@wellpartner.com', class: 'soft' },
  '047-dsn-amavis-many-recipients.eml': { address: 'xxxxxxx@dot.ca.gov', class: 'soft', count: 11 },
  '048-dsn-amazonses.eml': { address: 'xxxx@xxxx.com', class: 'hard' },
  '049-dsn-fastmail-postfix-arc.eml': {
    address: 'htfgvhyufthdgcvhgjyfthgc@ethereal.email',
    class: 'hard',
  },
  '050-dsn-postfix-base64-parts.eml': { address: 'netec.test@netecgc.com', class: 'hard' },
  '051-dsn-delay-rfc822-headers-resent.eml': {
    address: 'fraser@oooooooo.com.au',
    class: 'soft',
    action: 'delayed',
  },
  '052-dsn-bulk-mail-verp-address.eml': { address: 'recipient@example.net', class: 'hard' },
  '053-dsn-exchange-utf7-gateway-banner.eml': { address: 'example@example.com', class: 'hard' },
  '054-qmail-plain-bounce.eml': {
    address: 'recipient@example.net',
    class: 'hard',
    format: 'qmail',
  },
  '055-exim-bounce-to-list-bounce-address.eml': {
    address: 'hbsdpphvfex@blackwebportal.com',
    class: 'hard',
    format: 'exim',
  },
};

const NOT_BOUNCES: Record<string, string> = {
  '056-autoreply-precedence-bulk.eml': 'auto-reply',
  '057-autoreply-auto-submitted.eml': 'auto-reply',
  '058-autoreply-iso-8859-2.eml': 'auto-reply',
  '059-mdn-read-receipt.eml': 'mdn',
  '060-arf-abuse-report-bom.eml': 'feedback-report',
};

const files = corpusFiles();

describe('classifyBounce on the corpus', () => {
  it('has the corpus', () => {
    expect(files.length).toBeGreaterThan(50);
  });

  for (const [file, want] of Object.entries(BOUNCES)) {
    it(`${file}: ${want.address} (${want.class})`, () => {
      const verdict = classifyBounce(readFileSync(join(CORPUS, file)));
      expect(verdict.kind).toBe('bounce');
      if (verdict.kind !== 'bounce') return;
      const first = verdict.recipients[0]!;
      expect(first.address).toBe(want.address);
      expect(first.class).toBe(want.class);
      expect(first.action).toBe(want.action ?? 'failed');
      expect(verdict.recipients.length).toBe(want.count ?? 1);
      if (want.format) expect(verdict.format).toBe(want.format);
      for (const r of verdict.recipients) expect(r.class).toBe(want.class);
    });
  }

  for (const [file, reason] of Object.entries(NOT_BOUNCES)) {
    it(`${file}: not a bounce (${reason})`, () => {
      expect(classifyBounce(readFileSync(join(CORPUS, file)))).toEqual({
        kind: 'not-bounce',
        reason,
      });
    });
  }

  it('classifies every other corpus mail (posts) as not a bounce', () => {
    for (const file of files) {
      if (file in BOUNCES || file in NOT_BOUNCES) continue;
      const verdict = classifyBounce(readFileSync(join(CORPUS, file)));
      expect(verdict.kind, file).toBe('not-bounce');
    }
  });
});
