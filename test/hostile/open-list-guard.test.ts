/**
 * Issue 16's acceptance on real files: automated and malformed mail through `malist receive`
 * on an OPEN list (anyone may post) never reaches a member. Each file in
 * test/fixtures/hostile (MANIFEST: the outcome it must get) and every robot message of the
 * shared corpus (delivery reports, auto-replies, receipts) ends held or discarded with the
 * reason in the delivery log; one ordinary post is the control that the list still delivers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_DIR } from '../helpers/corpus.ts';
import { malist, OPEN_MEMBERS, writeConfig } from '../helpers/crash-config.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const HOSTILE_DIR = resolve(import.meta.dirname, '..', 'fixtures', 'hostile');

interface Case {
  file: string;
  raw: Buffer;
  /** The outcomes allowed in the delivery log. */
  expected: string[];
}

const hostile: Case[] = readFileSync(join(HOSTILE_DIR, 'MANIFEST.tsv'), 'utf8')
  .split('\n')
  .slice(1)
  .filter((line) => line.trim() !== '')
  .map((line) => {
    const [file, , , outcome] = line.split('\t');
    return { file: file!, raw: readFileSync(join(HOSTILE_DIR, file!)), expected: [outcome!] };
  });

// The corpus's robot mail: DSNs (045-055), auto-replies (056-058), a receipt, an ARF report.
const robots: Case[] = readdirSync(CORPUS_DIR)
  .filter((f) => /^0(4[5-9]|5\d|60)-.*\.eml$/.test(f))
  .map((file) => ({
    file: `corpus/${file}`,
    raw: readFileSync(join(CORPUS_DIR, file)),
    // 045 came back through a Mailman list: relayed list mail is held, robots discarded.
    expected: ['discarded', 'held'],
  }));

const control: Case = {
  file: 'corpus/001-plain-lf.eml',
  raw: readFileSync(join(CORPUS_DIR, '001-plain-lf.eml')),
  expected: ['distributed'],
};

async function receiveOpen(c: Case, port: number) {
  const dir = await writeConfig({ smtpPort: port });
  try {
    const ran = await malist(['receive', '--config', dir, '--list', 'open'], {
      input: c.raw,
      timeoutMs: 60_000,
    });
    const log = (await readFile(join(dir, 'delivery.log'), 'utf8').catch(() => '')).trim();
    // Then the queue is worked, as cron's next `malist run` would: whatever was queued goes out.
    const worked = await malist(['run', '--config', dir], { timeoutMs: 60_000 });
    return { ...ran, log, worked };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('automated and malformed mail never reaches the members of an open list', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  const toMembers = () =>
    server.accepted.filter((m) => m.to.some((r) => OPEN_MEMBERS.includes(r.toLowerCase())));

  it.concurrent.each([...hostile, ...robots])('$file', async (c) => {
    const ran = await receiveOpen(c, server.port);
    expect(ran.code, ran.stderr).toBe(0);
    const outcome = /outcome=(\S+)/.exec(ran.log)?.[1];
    expect(c.expected, ran.log || ran.stderr).toContain(outcome);
    // The reason is said: malformed/automated/relayed, in words.
    expect(ran.log).toMatch(/reason="[^"]*(malformed|automated|relayed)[^"]*"/);
    expect(ran.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(ran.worked.code, ran.worked.stderr).toBe(0);
  });

  it('only the control reached the members: an ordinary post to the same list', async () => {
    // Runs after the cases above (describe order): their queues were worked to the end.
    const ran = await receiveOpen(control, server.port);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.log).toMatch(/outcome=distributed recipients=2/);
    expect(ran.worked.code, ran.worked.stderr).toBe(0);
    const controlId = /^Message-ID:\s*<([^>]+)>/im.exec(control.raw.toString('latin1'))?.[1];
    expect(new Set(toMembers().map((m) => m.messageId))).toEqual(new Set([controlId]));
    expect(
      toMembers()
        .flatMap((m) => m.to)
        .sort(),
    ).toEqual([...OPEN_MEMBERS].sort());
  });
});
