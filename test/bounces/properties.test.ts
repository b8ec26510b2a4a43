/** Parsers meet hostile input: never throw, never invent what is not there. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyBounce } from '../../src/bounces/classify.ts';
import { parseDeliveryStatus } from '../../src/bounces/dsn.ts';
import { parseRequest } from '../../src/commands/parse.ts';

describe('properties', () => {
  it('classifyBounce never throws on any bytes, and every bounced address is an address', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const verdict = classifyBounce(Buffer.from(bytes));
        if (verdict.kind === 'bounce')
          for (const r of verdict.recipients) expect(r.address).toMatch(/^[^@\s]+@[^@\s]+$/);
      }),
      { numRuns: 300 },
    );
  });

  it('a report with arbitrary fields never throws and only reports failed/delayed recipients', () => {
    const field = fc.constantFrom(
      'Final-Recipient',
      'Action',
      'Status',
      'Diagnostic-Code',
      'Original-Recipient',
      'X-Junk',
    );
    const line = fc.tuple(field, fc.string({ maxLength: 40 })).map(([k, v]) => `${k}: ${v}`);
    fc.assert(
      fc.property(fc.array(fc.array(line, { maxLength: 6 }), { maxLength: 5 }), (blocks) => {
        const body = blocks.map((b) => b.join('\n')).join('\n\n');
        parseDeliveryStatus(body);
        const raw = Buffer.from(
          `Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: message/delivery-status\n\n${body}\n--b--\n`,
        );
        const verdict = classifyBounce(raw);
        if (verdict.kind === 'bounce')
          for (const r of verdict.recipients) expect(['failed', 'delayed']).toContain(r.action);
      }),
      { numRuns: 300 },
    );
  });

  it('parseRequest never throws, finds no command in quoted lines, and never more than 10', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 80 }),
        fc.array(fc.string({ maxLength: 60 }), { maxLength: 40 }),
        (subject, lines) => {
          const quoted = lines.map((l) => `> ${l.replace(/\n/g, ' ')}`).join('\n');
          const got = parseRequest({ subject: '', body: quoted });
          expect(got.commands).toEqual([]);
          const any = parseRequest({ subject, body: lines.join('\n') });
          expect(any.commands.length).toBeLessThanOrEqual(10);
        },
      ),
      { numRuns: 300 },
    );
  });
});
