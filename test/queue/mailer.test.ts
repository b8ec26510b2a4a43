import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { createMailer, type Mailer } from '../../src/mailer.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';
import { tempDir } from './helpers.ts';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(): Promise<{ server: TestSmtpServer; mailer: Mailer; spool: string }> {
  const server = await startSmtpServer();
  cleanup.push(() => server.stop());
  const temp = await tempDir();
  cleanup.push(() => temp.remove());
  const mailer = createMailer({
    queue: { dir: temp.dir },
    smtp: { host: '127.0.0.1', port: server.port, starttls: 'never' },
  });
  cleanup.push(() => mailer.close());
  return { server, mailer, spool: temp.dir };
}

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

describe('createMailer', () => {
  it('sends a nodemailer message object: text, html, attachment, embedded image; Bcc delivered not shown', async () => {
    const { server, mailer } = await setup();
    const sent = await mailer.send({
      from: 'App <app@example.com>',
      to: 'a@x.test',
      bcc: 'audit@x.test',
      subject: 'Report',
      text: 'plain',
      html: '<p>html <img src="cid:logo@app"></p>',
      attachments: [
        { filename: 'report.csv', content: 'a,b\n1,2\n' },
        { filename: 'logo.png', content: PNG, cid: 'logo@app' },
      ],
    });
    expect(sent.results.map((r) => [r.recipient, r.status]).sort()).toEqual([
      ['a@x.test', 'delivered'],
      ['audit@x.test', 'delivered'],
    ]);
    const [message] = server.accepted;
    expect(message?.from).toBe('app@example.com');
    const parsed = await simpleParser(message!.raw);
    expect(parsed.text?.trim()).toBe('plain');
    // mailparser inlines cid: images as data: URLs; the wire form has the related part.
    expect(message!.raw.toString()).toMatch(/Content-ID: <logo@app>/);
    expect(message!.raw.toString()).toMatch(/multipart\/related/);
    expect(parsed.attachments.map((a) => a.filename).sort()).toEqual(['logo.png', 'report.csv']);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.messageId).toBe(`<${sent.messageId}>`);
  });

  it('sends raw bytes as they are, envelope from the headers or given', async () => {
    const { server, mailer } = await setup();
    const raw = Buffer.from(
      'From: a@example.com\r\nTo: b@x.test\r\nDate: Mon, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <r1@example.com>\r\n\r\nbody\r\n',
    );
    await mailer.send(raw);
    await mailer.send(raw, { from: 'bounce@example.com', to: ['c@x.test'] });
    expect(server.accepted.map((m) => [m.from, m.to.join()])).toEqual([
      ['a@example.com', 'b@x.test'],
      ['bounce@example.com', 'c@x.test'],
    ]);
    expect(server.accepted[0]?.raw.equals(raw)).toBe(true);
  });

  it('transactions: nothing is sent unless committed', async () => {
    const { server, mailer, spool } = await setup();
    const aborted = mailer.begin();
    await aborted.send({ from: 'app@example.com', to: 'a@x.test', text: 'one' });
    await aborted.abort();
    const tx = mailer.begin();
    await tx.send({ from: 'app@example.com', to: 'a@x.test', text: 'two' });
    await tx.send({ from: 'app@example.com', to: 'b@x.test', text: 'three' });
    await new Promise((r) => setTimeout(r, 100));
    expect(server.accepted).toHaveLength(0);
    expect(await readdir(join(spool, 'new'))).toEqual([]);
    const results = await tx.commit();
    expect(results.flatMap((r) => r.results.map((x) => x.status))).toEqual([
      'delivered',
      'delivered',
    ]);
    expect(server.accepted).toHaveLength(2);
    expect(server.count('a@x.test')).toBe(1);
    expect(await readdir(join(spool, 'tmp'))).toEqual([]);
    await expect(tx.send({ from: 'a@b.c', to: 'x@y.z', text: '' })).rejects.toThrow(/committed/);
  });
});
