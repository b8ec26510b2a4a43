/**
 * The pop3 fetcher against a real Dovecot: play() end to end, a SIGKILLed run then a rerun
 * (exactly once, mailbox empty), byte-exact 8-bit / bare-LF / 20 MB mail, STLS and implicit
 * TLS with and without the CA, and the errors a user sees.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NothingMore, StageError } from '../../src/errors.ts';
import createPop3Fetcher, { type Pop3Options } from '../../src/fetchers/pop3.ts';
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
const USERS = Array.from({ length: 16 }, (_, i) => `p${i}`);
let dovecot: Dovecot;
let nextUser = 0;
let scratch: string;

beforeAll(async () => {
  if (!available) return;
  dovecot = await startDovecot({ users: [...USERS, { user: 'locked', password: 'right' }] });
  scratch = await mkdtemp(join(tmpdir(), 'malist-pop3-test-'));
}, 60_000);
afterAll(async () => {
  await dovecot?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** A fresh user, its state and output dirs, and fetcher options for it. */
async function fresh(over: Partial<Pop3Options> = {}) {
  const user = USERS[nextUser++]!;
  const dir = await mkdtemp(join(scratch, `${user}-`));
  const options: Pop3Options = {
    host: dovecot.host,
    port: dovecot.ports.pop3s,
    tls: 'implicit',
    caFile: dovecot.caFile,
    user: dovecot.address(user),
    password: dovecot.password(user),
    stateDir: join(dir, 'state'),
    tmpDir: dir,
    // A bound for a hung server, generous for a loaded machine.
    timeout: 30_000,
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

// Every test has its own user: they run side by side.
describe.skipIf(!available).concurrent('pop3 fetcher against Dovecot', () => {
  it('delivers N messages through play() and leaves the mailbox empty', async () => {
    const { user, options, outDir, stateDir } = await fresh();
    const sent = Array.from({ length: 12 }, (_, i) => numbered(i, 'pop3-play'));
    for (const m of sent) await dovecot.deliver(user, m);
    const summary = await play({
      fetcher: createPop3Fetcher(options),
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

  // Independent users, each with child processes: run side by side.
  describe.concurrent('killed mid-way', () => {
    // [crash point, at its nth hit, mails fully handled before the crash]
    for (const [point, n, handled] of [
      ['pop3.after-dele', 4, 4],
      ['pop3.before-quit', 1, 8],
    ] as const) {
      it(`a run SIGKILLed at ${point}:${n}, then run again, delivers every message exactly once`, async () => {
        const { user, options, outDir, stateDir } = await fresh();
        const sent = Array.from({ length: 8 }, (_, i) => numbered(i, `pop3-crash-${point}`));
        for (const m of sent) await dovecot.deliver(user, m);
        const config = { kind: 'pop3', fetcher: options, outDir, stateDir };
        const first = await runChild(config, `${point}:${n}`);
        expect(first.signal).toBe('SIGKILL');
        // Killed before QUIT: the server rolled every DELE back.
        expect(await dovecot.messages(user)).toHaveLength(8);
        const second = await runChild(config);
        expect(second.code, second.stderr).toBe(0);
        // The killed run's download dir is gone (its pid is), and the second run removed its own.
        const left = (await readdir(options.tmpDir!)).filter((n) => n.startsWith('malist-pop3-'));
        expect(left).toEqual([]);
        expect(second.summary?.fetchError).toBeUndefined();
        expect(deliveries(outDir).sort()).toEqual(sent.map(sha256).sort());
        expect(await dovecot.messages(user)).toHaveLength(0);
        // The UID record kept the handled ones from being handed out again at all.
        expect(second.summary).toMatchObject({ fetched: 8 - handled, skipped: 0 });
        expect(await drainRaw(createPop3Fetcher(options))).toHaveLength(0);
      });
    }
  });

  it('8-bit, bare-LF, dot-line and 20 MB messages arrive byte-identical (streamed to disk)', async () => {
    const { user, options } = await fresh();
    const large = big(20);
    const messages = [eightBit(), bareLf(), large];
    for (const m of messages) await dovecot.deliver(user, m);
    const got = await drainRaw(createPop3Fetcher(options));
    expect(got).toHaveLength(3);
    // What a POP3 server puts on the wire: CRLF line ends (Dovecot turns a bare LF into CRLF).
    expect(got[0]!.equals(messages[0]!)).toBe(true);
    expect(got[1]!.toString('latin1')).toBe(crlf(bareLf()).toString('latin1'));
    expect(got[2]!.length).toBe(large.length);
    expect(sha256(got[2]!)).toBe(sha256(large));
  });

  it('every corpus message arrives as the server serves it', async () => {
    const corpus = corpusMessages();
    const { user, options } = await fresh();
    for (const m of corpus) await dovecot.deliver(user, m.raw);
    const got = await drainRaw(createPop3Fetcher(options));
    expect(got).toHaveLength(corpus.length);
    got.forEach((raw, i) => {
      let expected = crlf(corpus[i]!.raw);
      // RFC 1939 needs a line end before the terminator: the server adds one if missing.
      if (!expected.subarray(-2).equals(Buffer.from('\r\n'))) {
        expected = Buffer.concat([expected, Buffer.from('\r\n')]);
      }
      expect(raw.toString('latin1'), corpus[i]!.file).toBe(expected.toString('latin1'));
    });
  });

  it('leaves oversized mail on the server and reports it after the rest', async () => {
    const { user, options } = await fresh({ maxMailSize: 4096 });
    await dovecot.deliver(user, big(0.01));
    await dovecot.deliver(user, numbered(1, 'small'));
    const fetcher = createPop3Fetcher(options);
    const first = await fetcher.fetch();
    expect(first.mail.raw.toString()).toContain('small 1');
    await first.ack();
    const error = await errorOf(fetcher.fetch());
    expect(error.code).toBe('ESIZE');
    expect(error.message).toMatch(/over maxMailSize/);
    await expect(fetcher.fetch()).rejects.toBeInstanceOf(NothingMore);
    await fetcher.close();
    expect(await dovecot.messages(user)).toHaveLength(1);
  });

  describe('TLS', () => {
    it('STLS and implicit TLS work with a self-signed certificate when caFile names it', async () => {
      for (const [tls, port] of [
        ['starttls', dovecot.ports.pop3],
        ['implicit', dovecot.ports.pop3s],
      ] as const) {
        const { user, options } = await fresh({ tls, port });
        await dovecot.deliver(user, numbered(1, `tls-${tls}`));
        const got = await drainRaw(createPop3Fetcher(options));
        expect(got.map((m) => m.toString())).toEqual([numbered(1, `tls-${tls}`).toString()]);
        expect(await dovecot.messages(user)).toHaveLength(0);
      }
    });

    it('STLS and implicit TLS fail with the certificate problem named when no CA is given, unless reject_unauthorized is false', async () => {
      for (const [tls, port] of [
        ['starttls', dovecot.ports.pop3],
        ['implicit', dovecot.ports.pop3s],
      ] as const) {
        const { user, options } = await fresh({ tls, port, caFile: undefined });
        await dovecot.deliver(user, numbered(1, 'untrusted'));
        const fetcher = createPop3Fetcher(options);
        const error = await errorOf(fetcher.fetch());
        expect(error.code).toBe('ETLS');
        expect(error.message).toMatch(
          /self-signed and not trusted \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
        );
        expect(error.message).toMatch(/`ca_file`/);
        await fetcher.close();
        expect(await dovecot.messages(user)).toHaveLength(1);
        // reject_unauthorized: false (tests only) takes any certificate.
        const anyCert = await drainRaw(
          createPop3Fetcher({ ...options, rejectUnauthorized: false }),
        );
        expect(anyCert.map((m) => m.toString())).toEqual([numbered(1, 'untrusted').toString()]);
      }
    });
  });

  describe('errors', () => {
    it('a fetcher failure reaches every reactor through play(), and the mail stays', async () => {
      const { user, options, outDir, stateDir } = await fresh({ password: 'wrong-pw' });
      await dovecot.deliver(user, numbered(1, 'routed'));
      const { summary, seen } = await playReporting(createPop3Fetcher(options), outDir, stateDir);
      expect(summary.fetchError).toBeInstanceOf(StageError);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ stage: 'fetcher', unit: 'pop3' });
      expect((seen[0]!.error as StageError).code).toBe('EAUTH');
      expect(await dovecot.messages(user)).toHaveLength(1);
    });

    it('bad credentials: EAUTH naming the user, never the password', async () => {
      const { options } = await fresh({ user: dovecot.address('locked'), password: 'wrong-pw' });
      const fetcher = createPop3Fetcher(options);
      const error = await errorOf(fetcher.fetch());
      expect(error.code).toBe('EAUTH');
      expect(error.message).toContain('locked@example.test');
      expect(error.message).not.toContain('wrong-pw');
      await fetcher.close();
    });

    it('server not there: ECONNECTION, temporary', async () => {
      const { options } = await fresh({ port: await freePort(), tls: 'none' });
      const error = await errorOf(createPop3Fetcher(options).fetch());
      expect(error.code).toBe('ECONNECTION');
      expect(error.temporary).toBe(true);
      expect(error.message).toMatch(/connection refused/);
    });

    it('implicit TLS on the plain port: a TLS error that names the port mix-up', async () => {
      const { options } = await fresh({ port: dovecot.ports.pop3, tls: 'implicit' });
      const error = await errorOf(createPop3Fetcher(options).fetch());
      expect(error.code).toBe('ETLS');
      expect(error.message).toMatch(/port/);
    });

    it('options are checked up front, prefixed with the unit name', () => {
      expect(() =>
        createPop3Fetcher({ host: 'x', user: 'u', password: 'p' } as Pop3Options),
      ).toThrow(/^pop3: `stateDir` is required/);
      expect(() =>
        createPop3Fetcher({
          host: 'x',
          user: 'u',
          password: 'p',
          stateDir: '/s',
          tls: 'yes' as never,
        }),
      ).toThrow(/^pop3: `tls` must be/);
    });
  });
});
