import { describe, expect, it } from 'vitest';
import { prepareSubmission } from './submission.ts';

const message = Buffer.from(
  'From: App <app@example.com>\nTo: a@x.test, B <b@x.test>\nCc: c@x.test\nBcc: hidden@x.test\n' +
    'Subject: report\nDate: Mon, 23 Nov 2026 20:00:00 +0000\nMessage-ID: <m1@example.com>\n\nbody\n',
);

describe('prepareSubmission', () => {
  it('-t takes To, Cc and Bcc, strips Bcc from the header, keeps the rest byte for byte', () => {
    const s = prepareSubmission(message, { fromHeaders: true, sender: 'bounce@example.com' });
    expect(s.recipients).toEqual(['a@x.test', 'b@x.test', 'c@x.test', 'hidden@x.test']);
    expect(s.sender).toBe('bounce@example.com');
    expect(s.raw.toString()).not.toMatch(/Bcc|hidden/);
    expect(s.raw.toString()).toBe(message.toString().replace('Bcc: hidden@x.test\n', ''));
    expect(s.messageId).toBe('m1@example.com');
  });

  it('arguments only; sender from From; adds Date and Message-ID when missing', () => {
    const s = prepareSubmission(Buffer.from('From: app@example.com\nSubject: x\n\nhi\n'), {
      recipients: ['a@x.test', 'A@X.test'],
    });
    expect(s.recipients).toEqual(['a@x.test']);
    expect(s.sender).toBe('app@example.com');
    expect(s.raw.toString()).toMatch(/^Date: .+\nMessage-ID: <[^>]+>\n\nhi\n$/m);
  });

  it('refuses a message with nobody to send to', () => {
    expect(() => prepareSubmission(Buffer.from('Subject: x\n\nhi\n'))).toThrow(/no recipients/);
  });
});
