/**
 * The imap fetcher against a real Dovecot: play() end to end (delete or move), a SIGKILLed
 * run then a rerun (exactly once, mailbox empty or moved), a server without MOVE/UIDPLUS
 * (COPY + flag, never a bare EXPUNGE), UIDVALIDITY change, reconnect after a dropped
 * connection, byte-exact 8-bit / bare-LF / 20 MB mail, STARTTLS and implicit TLS with and
 * without the CA, and the errors a user sees.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NothingMore, StageError } from '../../src/errors.ts';
import createImapFetcher, { type ImapOptions } from '../../src/fetchers/imap.ts';
import { play } from '../../src/play.ts';
import type { Fetcher } from '../../src/types.ts';
import { corpusMessages } from '../helpers/corpus.ts';
import { type Dovecot, dovecotAvailable, freePort, startDovecot } from '../helpers/dovecot.ts';
import { bareLf, big, crlf, eightBit, numbered, runChild, sha256 } from './network-helpers.ts';
import {
  delivered,
  deliveries,
  playReporting,
  recordingDistributor,
  toArchive,
} from './recording.ts';

const available = dovecotAvailable();
const USERS = Array.from({ length: 24 }, (_, i) => `i${i}`);
let dovecot: Dovecot;
/** A Dovecot that advertises neither MOVE nor UIDPLUS. */
let plain: Dovecot;
let nextUser = 0;
let scratch: string;

beforeAll(async () => {
  if (!available) return;
  [dovecot, plain] = await Promise.all([
    startDovecot({ users: [...USERS, { user: 'locked', password: 'right' }] }),
    startDovecot({
      users: USERS,
      extraConfig: 'imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE IDLE NAMESPACE',
    }),
  ]);
  scratch = await mkdtemp(join(tmpdir(), 'malist-imap-test-'));
}, 60_000);
afterAll(async () => {
  await Promise.all([dovecot?.stop(), plain?.stop()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function fresh(over: Partial<ImapOptions> = {}, server = dovecot) {
  const user = USERS[nextUser++]!;
  const dir = await mkdtemp(join(scratch, `${user}-`));
  const options: ImapOptions = {
    host: server.host,
    port: server.ports.imaps,
    tls: 'implicit',
    caFile: server.caFile,
    user: server.address(user),
    password: server.password(user),
    stateDir: join(dir, 'state'),
    tmpDir: dir,
    // Bounds for a hung server, generous for a loaded machine.
    timeout: 30_000,
    lockTimeout: 30_000,
    ...over,
  };
  return { user, options, outDir: join(dir, 'out'), stateDir: join(dir, 'state') };
}

/** Fetches and acks everything, then closes. */
async function drainRaw(fetcher: Fetcher): Promise<Buffer[]> {
  const got: Buffer[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      try {
        const fetched = await fetcher.fetch();
        got.push(fetched.mail.raw);
        await fetched.ack();
      } catch (error) {
        if (error instanceof NothingMore) return got;
        throw error;
      }
    }
    throw new Error('too many mails');
  } finally {
    await fetcher.close();
  }
}

async function errorOf(promise: Promise<unknown>): Promise<StageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StageError);
  return error as StageError;
}

/** Maildir flags of each message ("T" = \Deleted). */
async function flags(server: Dovecot, user: string, folder?: string): Promise<string[]> {
  return (await server.messages(user, folder)).map((m) => m.file.split(':2,')[1] ?? '');
}

// Every test has its own user: they run side by side.
describe.skipIf(!available).concurrent('imap fetcher against Dovecot', () => {
  it('delivers N messages through play() and leaves the mailbox empty', async () => {
    const { user, options, outDir, stateDir } = await fresh({
      tls: 'starttls',
      port: dovecot.ports.imap,
    });
    const sent = Array.from({ length: 12 }, (_, i) => numbered(i, 'imap-play'));
    for (const m of sent) await dovecot.deliver(user, m);
    const summary = await play({
      fetcher: createImapFetcher(options),
      processor: toArchive,
      distributor: recordingDistributor(outDir),
      stateDir,
    });
    expect(summary).toMatchObject({ fetched: 12, distributed: 12, failed: 0 });
    expect(summary.fetchError).toBeUndefined();
    expect(deliveries(outDir).sort()).toEqual(sent.map(sha256).sort());
    for (const m of sent) expect(delivered(outDir, sha256(m)).equals(m)).toBe(true);
    expect(await dovecot.messages(user)).toHaveLength(0);
  });

  it('with moveTo, moves handled mail to the folder (MOVE)', async () => {
    const { user, options, outDir, stateDir } = await fresh({ moveTo: 'Processed' });
    await dovecot.createFolder(user, 'Processed');
    const sent = Array.from({ length: 5 }, (_, i) => numbered(i, 'imap-move'));
    for (const m of sent) await dovecot.deliver(user, m);
    const summary = await play({
      fetcher: createImapFetcher(options),
      processor: toArchive,
      distributor: recordingDistributor(outDir),
      stateDir,
    });
    expect(summary).toMatchObject({ fetched: 5, distributed: 5 });
    expect(await dovecot.messages(user)).toHaveLength(0);
    const moved = (await dovecot.messages(user, 'Processed')).map((m) => sha256(crlf(m.raw)));
    expect(moved.sort()).toEqual(sent.map(sha256).sort());
  });

  // Independent users, each with child processes: run side by side.
  describe.concurrent('killed mid-way', () => {
    // [crash point, nth hit, mails fully handled before the crash, moveTo]
    for (const [point, n, handled, moveTo] of [
      ['imap.after-flag', 4, 4, undefined],
      ['imap.after-move', 3, 3, 'Processed'],
      ['play.before-ack', 5, 4, undefined],
    ] as const) {
      it(`a run SIGKILLed at ${point}:${n}${moveTo ? ' (moveTo)' : ''}, then run again, delivers every message exactly once`, async () => {
        const { user, options, outDir, stateDir } = await fresh({ moveTo });
        if (moveTo) await dovecot.createFolder(user, moveTo);
        const sent = Array.from({ length: 8 }, (_, i) => numbered(i, `imap-crash-${point}`));
        for (const m of sent) await dovecot.deliver(user, m);
        const config = { kind: 'imap', fetcher: options, outDir, stateDir };
        const first = await runChild(config, `${point}:${n}`);
        expect(first.signal, first.stderr).toBe('SIGKILL');
        const second = await runChild(config);
        expect(second.code, second.stderr).toBe(0);
        // The killed run's download dir is gone (its pid is), and the second run removed its own.
        const left = (await readdir(options.tmpDir!)).filter((n) => n.startsWith('malist-imap-'));
        expect(left).toEqual([]);
        expect(second.summary?.fetchError).toBeUndefined();
        expect(deliveries(outDir).sort()).toEqual(sent.map(sha256).sort());
        expect(await dovecot.messages(user)).toHaveLength(0);
        if (moveTo) {
          const moved = (await dovecot.messages(user, moveTo)).map((m) => sha256(crlf(m.raw)));
          expect(moved.sort()).toEqual(sent.map(sha256).sort());
        }
        if (point === 'play.before-ack') {
          expect(second.summary).toMatchObject({ fetched: 8 - handled, skipped: 1 });
        } else {
          expect(second.summary).toMatchObject({ fetched: 8 - handled, skipped: 0 });
        }
        expect(await drainRaw(createImapFetcher(options))).toHaveLength(0);
      });
    }
  });

  describe('a server without MOVE and UIDPLUS', () => {
    it('moveTo copies, checks, flags; a crash after COPY does not copy twice', async () => {
      const { user, options, outDir, stateDir } = await fresh({ moveTo: 'Processed' }, plain);
      await plain.createFolder(user, 'Processed');
      const sent = Array.from({ length: 6 }, (_, i) => numbered(i, 'imap-copy'));
      for (const m of sent) await plain.deliver(user, m);
      const config = { kind: 'imap', fetcher: options, outDir, stateDir };
      const first = await runChild(config, 'imap.after-copy:3');
      expect(first.signal, first.stderr).toBe('SIGKILL');
      const second = await runChild(config);
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary).toMatchObject({ fetched: 3, skipped: 0 });
      expect(deliveries(outDir).sort()).toEqual(sent.map(sha256).sort());
      const moved = (await plain.messages(user, 'Processed')).map((m) => sha256(crlf(m.raw)));
      expect(moved.sort()).toEqual(sent.map(sha256).sort());
      // No UIDPLUS: the originals stay, flagged \Deleted, for whoever expunges.
      expect(await flags(plain, user)).toEqual(Array(6).fill('T'));
      expect((await runChild(config)).summary).toMatchObject({ fetched: 0 });
    });

    it("never runs a bare EXPUNGE: another client's \\Deleted mail stays", async () => {
      const { user, options } = await fresh({}, plain);
      await plain.deliver(user, numbered(1, 'ours'));
      await plain.deliver(user, numbered(2, 'ours'));
      // Another client's message, flagged \Deleted but not expunged.
      const path = plain.maildir(user);
      const name = await plain.deliver(user, numbered(3, 'theirs'));
      const { rename } = await import('node:fs/promises');
      await rename(join(path, 'new', name), join(path, 'cur', `${name}:2,T`));
      const got = await drainRaw(createImapFetcher(options));
      expect(got.map((m) => m.toString())).toEqual(
        [numbered(1, 'ours'), numbered(2, 'ours')].map(String),
      );
      expect(await flags(plain, user)).toEqual(['T', 'T', 'T']);
      // A second session does not hand out what is flagged and recorded.
      expect(await drainRaw(createImapFetcher(options))).toHaveLength(0);
    });
  });

  it('a new UIDVALIDITY resets the record: recorded UIDs are not trusted', async () => {
    const { user, options, outDir, stateDir } = await fresh();
    const sent = Array.from({ length: 3 }, (_, i) => numbered(i, 'imap-uidvalidity'));
    for (const m of sent) await dovecot.deliver(user, m);
    const config = { kind: 'imap', fetcher: options, outDir, stateDir };
    // Killed right after recording UID 1 (before its removal).
    expect((await runChild(config, 'imap.after-record:1')).signal).toBe('SIGKILL');
    const recordFile = join(
      stateDir,
      'imap',
      (await import('node:fs')).readdirSync(join(stateDir, 'imap'))[0]!,
    );
    const before = JSON.parse(await readFile(recordFile, 'utf8'));
    expect(Object.keys(before.uids)).toEqual(['1']);
    const update = dovecot.doveadm(
      'mailbox',
      'update',
      '-u',
      dovecot.address(user),
      '--uid-validity',
      '777',
      'INBOX',
    );
    expect(update.status, update.output).toBe(0);
    const second = await runChild(config);
    // UID 1 is handed out again (the journal knows it: skipped, not sent twice).
    expect(second.summary).toMatchObject({ fetched: 3, skipped: 1 });
    expect(JSON.parse(await readFile(recordFile, 'utf8')).uidValidity).toBe('777');
    expect(deliveries(outDir).sort()).toEqual(sent.map(sha256).sort());
    expect(await dovecot.messages(user)).toHaveLength(0);
  });

  it('reconnects when the server drops the connection mid-session', async () => {
    const { user, options } = await fresh();
    for (let i = 0; i < 3; i++) await dovecot.deliver(user, numbered(i, 'imap-kick'));
    const fetcher = createImapFetcher(options);
    const first = await fetcher.fetch();
    await first.ack();
    const kicked = dovecot.doveadm('kick', dovecot.address(user));
    expect(kicked.status, kicked.output).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const second = await fetcher.fetch();
    await second.ack();
    const third = await fetcher.fetch();
    await third.ack();
    await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
    await fetcher.close();
    const texts = [first, second, third].map((f) => f.mail.raw.toString());
    expect(texts).toEqual([0, 1, 2].map((i) => numbered(i, 'imap-kick').toString()));
    expect(await dovecot.messages(user)).toHaveLength(0);
  });

  it('8-bit, bare-LF and 20 MB messages arrive byte-identical (streamed to disk)', async () => {
    const { user, options } = await fresh();
    const large = big(20);
    for (const m of [eightBit(), bareLf(), large]) await dovecot.deliver(user, m);
    const got = await drainRaw(createImapFetcher(options));
    expect(got).toHaveLength(3);
    expect(got[0]!.equals(eightBit())).toBe(true);
    // What an IMAP server puts on the wire: CRLF line ends (Dovecot turns a bare LF into CRLF).
    expect(got[1]!.toString('latin1')).toBe(crlf(bareLf()).toString('latin1'));
    expect(got[2]!.length).toBe(large.length);
    expect(sha256(got[2]!)).toBe(sha256(large));
  });

  it('every corpus message arrives as the server serves it', async () => {
    const corpus = corpusMessages();
    const { user, options } = await fresh();
    for (const m of corpus) await dovecot.deliver(user, m.raw);
    const got = await drainRaw(createImapFetcher(options));
    expect(got).toHaveLength(corpus.length);
    got.forEach((raw, i) => {
      expect(raw.toString('latin1'), corpus[i]!.file).toBe(crlf(corpus[i]!.raw).toString('latin1'));
    });
  });

  it('leaves oversized mail in the mailbox and reports it after the rest', async () => {
    const { user, options } = await fresh({ maxMailSize: 4096 });
    await dovecot.deliver(user, big(0.01));
    await dovecot.deliver(user, numbered(1, 'small'));
    const fetcher = createImapFetcher(options);
    const first = await fetcher.fetch();
    expect(first.mail.raw.toString()).toContain('small 1');
    await first.ack();
    const error = await errorOf(fetcher.fetch());
    expect(error.code).toBe('ESIZE');
    await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
    await fetcher.close();
    expect(await dovecot.messages(user)).toHaveLength(1);
  });

  describe('TLS', () => {
    it('STARTTLS and implicit TLS work with a self-signed certificate when caFile names it', async () => {
      for (const [tls, port] of [
        ['starttls', dovecot.ports.imap],
        ['implicit', dovecot.ports.imaps],
      ] as const) {
        const { user, options } = await fresh({ tls, port });
        await dovecot.deliver(user, numbered(1, `tls-${tls}`));
        const got = await drainRaw(createImapFetcher(options));
        expect(got.map(String)).toEqual([numbered(1, `tls-${tls}`).toString()]);
        expect(await dovecot.messages(user)).toHaveLength(0);
      }
    });

    it('STARTTLS and implicit TLS fail with the certificate problem named when no CA is given', async () => {
      for (const [tls, port] of [
        ['starttls', dovecot.ports.imap],
        ['implicit', dovecot.ports.imaps],
      ] as const) {
        const { user, options } = await fresh({ tls, port, caFile: undefined });
        await dovecot.deliver(user, numbered(1, 'untrusted'));
        const fetcher = createImapFetcher(options);
        const error = await errorOf(fetcher.fetch());
        expect(error.code, error.message).toBe('ETLS');
        expect(error.message).toMatch(
          /self-signed and not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
        );
        await fetcher.close();
        expect(await dovecot.messages(user)).toHaveLength(1);
      }
    });
  });

  describe('errors', () => {
    it('a TLS failure reaches every reactor through play(), and the mail stays', async () => {
      const { user, options, outDir, stateDir } = await fresh({ caFile: undefined });
      await dovecot.deliver(user, numbered(1, 'routed'));
      const { summary, seen } = await playReporting(createImapFetcher(options), outDir, stateDir);
      expect(summary.fetchError).toBeInstanceOf(StageError);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ stage: 'fetcher', unit: 'imap' });
      expect((seen[0]!.error as StageError).code).toBe('ETLS');
      expect(await dovecot.messages(user)).toHaveLength(1);
    });

    it('bad credentials: EAUTH naming the user, never the password', async () => {
      const { options } = await fresh({ user: dovecot.address('locked'), password: 'wrong-pw' });
      const error = await errorOf(createImapFetcher(options).fetch());
      expect(error.code).toBe('EAUTH');
      expect(error.message).toContain('locked@example.test');
      expect(error.message).not.toContain('wrong-pw');
    });

    it('unknown mailbox and unknown moveTo folder: ECONFIG naming it', async () => {
      const a = await fresh({ mailbox: 'NoSuchBox' });
      const error = await errorOf(createImapFetcher(a.options).fetch());
      expect(error.code).toBe('ECONFIG');
      expect(error.message).toMatch(/NoSuchBox.*does not exist/);
      const b = await fresh({ moveTo: 'NoSuchFolder' });
      await dovecot.deliver(b.user, numbered(1, 'x'));
      const moveError = await errorOf(createImapFetcher(b.options).fetch());
      expect(moveError.code).toBe('ECONFIG');
      expect(moveError.message).toMatch(/NoSuchFolder.*does not exist/);
    });

    it('server not there: ECONNECTION, temporary', async () => {
      const { options } = await fresh({ port: await freePort(), tls: 'none', reconnects: 0 });
      const error = await errorOf(createImapFetcher(options).fetch());
      expect(error.code).toBe('ECONNECTION');
      expect(error.temporary).toBe(true);
      expect(error.message).toMatch(/connection refused/);
    });

    it('options are checked up front, prefixed with the unit name', () => {
      expect(() =>
        createImapFetcher({ host: 'x', user: 'u', password: 'p' } as ImapOptions),
      ).toThrow(/^imap: `stateDir` is required/);
    });
  });
});
