/**
 * Issue 19's signing through the queue, as `malist run` wires it (config/signing.ts's
 * `listSigning`, config/personalise.ts's one-click URLs, the bulk SMTP client), with every
 * copy as a server received it checked by dkimpy (an implementation sharing no code with
 * malist or mailauth):
 *
 * - a batched post whose first round got 4xx for some members, retried by a later run;
 * - `signing_threads: 2`: personal copies signed in the worker pool, and a worker that
 *   dies mid-round (its copies deferred and signed again later, none dropped);
 * - a key file replaced after the configuration was loaded (and its DNS record checked):
 *   nothing leaves with a signature no receiver could verify; the copies are deferred, the
 *   operator is told, and with the key put back a later run delivers them, verifying;
 * - a key file replaced while malist was stopped (no signing threads): the next process finds
 *   a key that is not the one the selector signed with (state_dir/dkim-keys) and defers; once
 *   the new key is published and accepted (`malist dkim accept-key`), the next round delivers;
 * - a real Postfix delivering signed copies (personal and batched) into a real Dovecot:
 *   what lands in the maildir still verifies.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyPins } from '../../src/auth/key-pins.ts';
import type { DkimAlgorithm } from '../../src/auth/keys.ts';
import { dkimTxtRecord, loadSigningKey } from '../../src/auth/keys.ts';
import type { Plans } from '../../src/config/build.ts';
import { listPersonaliser } from '../../src/config/personalise.ts';
import { type ListSigning, listSigning, type SigningPlan } from '../../src/config/signing.ts';
import { createQueue, type Queue } from '../../src/queue/queue.ts';
import { createBulkTransport } from '../../src/smtp/bulk-client.ts';
import type { StageFailure } from '../../src/types.ts';
import { keyRecords, testKey, testKeyPem } from '../helpers/auth-keys.ts';
import { type DkimpyResult, dkimpyAvailable, dkimpyVerifier } from '../helpers/dkimpy.ts';
import { type Dovecot, dovecotAvailable, startDovecot } from '../helpers/dovecot.ts';
import { type Postfix, postfixAvailable, startPostfix } from '../helpers/postfix.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp-server.ts';

const available = dkimpyAvailable();
const DOMAIN = 'list.example.org';
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'auth');

const rsa = testKey('rsa-sha256', DOMAIN, 'rsa2025');
const ed = testKey('ed25519-sha256', DOMAIN, 'ed2025');
/** Published: the keys the list was configured with. */
const RECORDS = keyRecords([rsa, ed]);

let dkimpy: (messages: Buffer[]) => Promise<DkimpyResult[]>;
let dir = '';
beforeAll(async () => {
  if (!available) return;
  dkimpy = await dkimpyVerifier(RECORDS);
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const clean of cleanups.splice(0).reverse()) await clean();
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

/** Writes the list's two key files (rsa-sha256 2048, ed25519) into a new temp dir. */
async function keyFiles(): Promise<Record<DkimAlgorithm, string>> {
  dir = await mkdtemp(join(tmpdir(), 'malist-queue-signing-'));
  const files = {
    'rsa-sha256': join(dir, 'rsa2025.pem'),
    'ed25519-sha256': join(dir, 'ed2025.pem'),
  };
  await writeFile(files['rsa-sha256'], testKeyPem('rsa-sha256', `rsa2025.${DOMAIN}`), {
    mode: 0o600,
  });
  await writeFile(files['ed25519-sha256'], testKeyPem('ed25519-sha256', `ed2025.${DOMAIN}`), {
    mode: 0o600,
  });
  return files;
}

/** The list's signing plan, its keys loaded from `files` now (as the configuration does). */
async function planOf(files: Record<DkimAlgorithm, string>): Promise<SigningPlan> {
  const dkimOptions = [
    { domain: DOMAIN, selector: 'rsa2025', key_file: files['rsa-sha256'] },
    {
      domain: DOMAIN,
      selector: 'ed2025',
      key_file: files['ed25519-sha256'],
      algorithm: 'ed25519-sha256' as const,
    },
  ];
  return {
    dkim: await Promise.all(dkimOptions.map((o) => loadSigningKey(o))),
    dkimOptions,
    selfCheck: true,
    published: [],
  };
}

interface Run {
  queue: Queue;
  signing: ListSigning;
  notices: StageFailure[];
}

/**
 * A queue as one `malist run` process has it: list `red` signing with `plan`, personal
 * copies (one-click URL) when `personal`, sending to `port`.
 */
function queueRun(
  spool: string,
  plan: SigningPlan,
  opts: {
    port: number;
    personal: boolean;
    threads: number;
    clock?: { t: number };
    /** The state directory whose dkim-keys/ holds each selector's key (`malist run` passes it). */
    stateDir?: string;
  },
): Run {
  const signing = listSigning(new Map([['red', plan]]), {
    threads: opts.threads,
    ...(opts.stateDir ? { pins: keyPins(opts.stateDir) } : {}),
  })!;
  const settings = {
    name: 'red',
    address: `red@${DOMAIN}`,
    members: [],
    posting: 'open' as const,
    ...(opts.personal ? { unsubscribe_url: `https://${DOMAIN}/u/{list}/{member}/{token}` } : {}),
  };
  const plans = { lists: [{ list: { name: 'red', settings }, units: [] }] } as unknown as Plans;
  const notices: StageFailure[] = [];
  const transport = createBulkTransport({ host: '127.0.0.1', port: opts.port, starttls: 'never' });
  const queue = createQueue(
    { dir: spool, retry: { initial_seconds: 60 } },
    {
      transport,
      personalise: listPersonaliser(plans, Buffer.alloc(32, 7)),
      signer: signing.signer,
      onFailure: (f) => {
        notices.push(f);
      },
      ...(opts.clock ? { now: () => opts.clock!.t } : {}),
    },
  );
  cleanups.push(async () => {
    await transport.close();
    await signing.close();
  });
  return { queue, signing, notices };
}

/** A post of list `red`, its bytes as the list made them (List-Id, its From rewritten). */
async function post(id: string, recipients: string[], fixture = 'plain-post.eml') {
  const raw = Buffer.from(
    (await readFile(join(FIXTURES, fixture)))
      .toString('latin1')
      .replace(/^Message-ID: .*$/im, `Message-ID: <${id}@${DOMAIN}>`)
      .replace(/^(Subject: )/im, `List-Id: Red <red.${DOMAIN}>\r\n$1`),
    'latin1',
  );
  return {
    id,
    raw,
    sender: `red-bounces@${DOMAIN}`,
    recipients,
    list: 'red',
    messageId: `${id}@${DOMAIN}`,
  };
}

/** Both list signatures verify with dkimpy on each of `copies`. */
async function expectVerified(copies: Buffer[]): Promise<void> {
  expect(copies.length).toBeGreaterThan(0);
  const results = await dkimpy(copies);
  for (const result of results)
    expect(
      result.dkim.filter((d) => d.d === DOMAIN).map((d) => [d.s, d.ok, d.error]),
      result.file,
    ).toEqual([
      ['rsa2025', true, null],
      ['ed2025', true, null],
    ]);
}

const members = (n: number, domain = 'example.net') =>
  Array.from({ length: n }, (_, i) => `m${String(i).padStart(2, '0')}@${domain}`);

describe.skipIf(!available)('signed copies through the queue, checked by dkimpy', () => {
  let server: TestSmtpServer;
  beforeAll(async () => {
    server = await startSmtpServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  const received = (messageId: string) => server.accepted.filter((m) => m.messageId === messageId);

  it('a batched post, 4xx for two members in its first round, retried later: every copy verifies', async () => {
    const spool = join(await mkdtemp(join(tmpdir(), 'malist-spool-')), 'spool');
    cleanups.push(() => rm(join(spool, '..'), { recursive: true, force: true }));
    const files = await keyFiles();
    const plan = await planOf(files);
    const to = members(6, 'batched.example');
    for (const r of [to[1]!, to[4]!])
      server.addRule({
        stage: 'rcpt',
        recipient: r,
        reply: { code: 451, message: 'greylisted' },
        times: 1,
      });
    const clock = { t: Date.UTC(2026, 0, 1) };
    const first = queueRun(spool, plan, { port: server.port, personal: false, threads: 0, clock });
    const { results } = await first.queue.enqueue(await post('batched-retry', to), {
      sourceKept: true,
    });
    expect(results.filter((r) => r.status === 'queued').map((r) => r.recipient)).toEqual([
      to[1],
      to[4],
    ]);
    const firstRound = received('batched-retry@list.example.org');
    expect(firstRound.flatMap((m) => m.to).sort()).toEqual([to[0], to[2], to[3], to[5]]);
    // A later `malist run` (another process: its own signer) after the backoff.
    clock.t += 3_600_000;
    const later = queueRun(spool, plan, { port: server.port, personal: false, threads: 0, clock });
    const summary = await later.queue.run();
    expect([summary.delivered, summary.deferred]).toEqual([2, 0]);
    const copies = received('batched-retry@list.example.org');
    expect(copies.flatMap((m) => m.to).sort()).toEqual([...to].sort());
    await expectVerified(copies.map((m) => m.raw));
  });

  it('signing_threads: 2: personal copies signed in the pool verify; a worker dying mid-round defers its copies, which a later run delivers', async () => {
    const spool = join(await mkdtemp(join(tmpdir(), 'malist-spool-')), 'spool');
    cleanups.push(() => rm(join(spool, '..'), { recursive: true, force: true }));
    const plan = await planOf(await keyFiles());
    const to = members(24, 'pool.example');
    // The message that hands a worker its 10th copy (copies go in batches: those asked for
    // in one turn of the event loop) kills that worker (as an uncaught error or the OOM
    // killer would) before it answers: what it held must be deferred, nothing else lost.
    const post10 = Worker.prototype.postMessage;
    let handed = 0;
    vi.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (
      this: Worker,
      ...args: Parameters<Worker['postMessage']>
    ) {
      const result = post10.apply(this, args);
      const before = handed;
      handed += (args[0] as { copies?: unknown[] }).copies?.length ?? 0;
      if (before < 10 && handed >= 10) void this.terminate();
      return result;
    });
    const clock = { t: Date.UTC(2026, 0, 1) };
    const first = queueRun(spool, plan, { port: server.port, personal: true, threads: 2, clock });
    const { results } = await first.queue.enqueue(await post('pool-crash', to), {
      sourceKept: true,
    });
    const deferred = results.filter((r) => r.status === 'queued');
    expect(deferred.length).toBeGreaterThan(0);
    expect(deferred.length).toBeLessThan(to.length);
    for (const r of deferred) expect(r.response).toMatch(/^not sent: .*signer thread exited/);
    expect(first.notices).toHaveLength(1);
    expect(String(first.notices[0]!.error.message)).toMatch(
      /could not be signed and were deferred/,
    );
    vi.restoreAllMocks();
    // The replaced worker went on signing: the same pool signs the retry.
    clock.t += 3_600_000;
    const summary = await first.queue.run();
    expect([summary.delivered, summary.deferred]).toEqual([deferred.length, 0]);
    const copies = received('pool-crash@list.example.org');
    expect(copies.flatMap((m) => m.to).sort()).toEqual([...to].sort());
    expect(server.duplicates()).toEqual([]);
    for (const copy of copies)
      expect(copy.raw.toString('latin1')).toContain(`/u/red/${encodeURIComponent(copy.to[0]!)}/`);
    await expectVerified(copies.map((m) => m.raw));
  });

  for (const threads of [2, 0])
    it(`a key file replaced after the configuration was loaded (signing_threads: ${threads})`, async () => {
      const spool = join(await mkdtemp(join(tmpdir(), 'malist-spool-')), 'spool');
      cleanups.push(() => rm(join(spool, '..'), { recursive: true, force: true }));
      const files = await keyFiles();
      const plan = await planOf(files);
      // Someone runs a key generator over the configured file (not `malist dkim keygen`,
      // which refuses to overwrite): the published TXT record is the old key's.
      const other = testKeyPem('rsa-sha256', 'someone-else');
      await writeFile(files['rsa-sha256'], other, { mode: 0o600 });
      const to = members(3, `replaced${threads}.example`);
      const id = `replaced-key-${threads}`;
      const clock = { t: Date.UTC(2026, 0, 1) };
      const run = queueRun(spool, plan, { port: server.port, personal: true, threads, clock });
      const { results } = await run.queue.enqueue(await post(id, to), { sourceKept: true });
      if (threads === 0) {
        // One thread signs with the keys loaded with the configuration: the published ones.
        expect(results.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered']);
        await expectVerified(received(`${id}@${DOMAIN}`).map((m) => m.raw));
        return;
      }
      // The workers load the files at the first copy and find another key: nothing is sent.
      expect(results.map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
      expect(received(`${id}@${DOMAIN}`)).toEqual([]);
      expect(results[0]!.response).toMatch(
        new RegExp(
          `^not sent: .*the signed copy failed its self-check, not sent: the key file ${files['rsa-sha256']} \\(rsa2025\\._domainkey\\.${DOMAIN.replaceAll('.', '\\.')}\\) now holds rsa 2048 key \\(SPKI SHA-256 [0-9a-f]{16}…\\), not the rsa 2048 key \\(SPKI SHA-256 [0-9a-f]{16}…\\) loaded with the configuration: its signatures would not verify against the published record`,
        ),
      );
      // The operator is told, once for the round, with the code and the copies named.
      expect(run.notices).toHaveLength(1);
      const notice = run.notices[0]!;
      expect(notice.error).toMatchObject({ code: 'ESIGNATURE', temporary: true });
      expect(String(notice.error.message)).toMatch(
        /3 copy\(ies\) of queue entry replaced-key-2 for list red could not be signed and were deferred/,
      );
      // Nothing lost: the entry waits in the spool for every member.
      clock.t += 3_600_000;
      const again = await run.queue.run();
      expect([again.delivered, again.deferred]).toEqual([0, 3]);
      // The key put back; the next `malist run` (a new process, new workers) delivers.
      await writeFile(files['rsa-sha256'], testKeyPem('rsa-sha256', `rsa2025.${DOMAIN}`));
      clock.t += 3_600_000;
      const next = queueRun(spool, await planOf(files), {
        port: server.port,
        personal: true,
        threads,
        clock,
      });
      const summary = await next.queue.run();
      expect([summary.delivered, summary.deferred]).toEqual([3, 0]);
      const copies = received(`${id}@${DOMAIN}`);
      expect(copies.flatMap((m) => m.to).sort()).toEqual([...to].sort());
      await expectVerified(copies.map((m) => m.raw));
    });

  it('a key file replaced while malist was stopped (no signing threads): deferred until the new key is accepted', async () => {
    const work = await mkdtemp(join(tmpdir(), 'malist-pins-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const spool = join(work, 'spool');
    const stateDir = join(work, 'state');
    const files = await keyFiles();
    const clock = { t: Date.UTC(2026, 0, 1) };
    // The first `malist run` signs with the published keys and records them.
    const first = queueRun(spool, await planOf(files), {
      port: server.port,
      personal: true,
      threads: 0,
      clock,
      stateDir,
    });
    const before = await first.queue.enqueue(
      await post('pins-before', members(2, 'pins.example')),
      {
        sourceKept: true,
      },
    );
    expect(before.results.map((r) => r.status)).toEqual(['delivered', 'delivered']);
    await expectVerified(received(`pins-before@${DOMAIN}`).map((m) => m.raw));
    // malist stopped; the rsa key file replaced; the next process loads the new key, and its
    // self-check (the public half of that same key) would pass every copy.
    await writeFile(files['rsa-sha256'], testKeyPem('rsa-sha256', 'restored-wrong-backup'), {
      mode: 0o600,
    });
    const plan = await planOf(files);
    const run = queueRun(spool, plan, {
      port: server.port,
      personal: true,
      threads: 0,
      clock,
      stateDir,
    });
    const to = members(3, 'pins.example');
    const { results } = await run.queue.enqueue(await post('pins-after', to), {
      sourceKept: true,
    });
    expect(results.map((r) => r.status)).toEqual(['queued', 'queued', 'queued']);
    expect(received(`pins-after@${DOMAIN}`)).toEqual([]);
    const file = files['rsa-sha256'].replaceAll('.', '\\.');
    expect(results[0]!.response).toMatch(
      new RegExp(
        `^not sent: .*the key file ${file} holds a key \\(SHA-256 [0-9a-f]{16}…\\) that is not the one rsa2025\\._domainkey\\.list\\.example\\.org has signed with \\(SHA-256 [0-9a-f]{16}…, from ${file}, recorded 20\\d\\d-.*malist dkim accept-key --list red`,
      ),
    );
    expect(run.notices).toHaveLength(1);
    expect(run.notices[0]!.error).toMatchObject({ code: 'ESIGNATURE', temporary: true });
    // Nothing lost: a later round defers again.
    clock.t += 3_600_000;
    expect(await run.queue.run()).toMatchObject({ delivered: 0, deferred: 3 });
    // The re-key was meant: the new key's record is published, the operator accepts it
    // (what `malist dkim accept-key --list red` does); the same process's next round signs.
    const accepted = await keyPins(stateDir).accept(plan.dkim);
    expect(accepted.map((a) => [a.key.selector, a.was?.name])).toEqual([
      ['rsa2025', `rsa2025._domainkey.${DOMAIN}`],
      ['ed2025', `ed2025._domainkey.${DOMAIN}`],
    ]);
    clock.t += 3_600_000;
    expect(await run.queue.run()).toMatchObject({ delivered: 3, deferred: 0 });
    const copies = received(`pins-after@${DOMAIN}`);
    expect(copies.flatMap((m) => m.to).sort()).toEqual([...to].sort());
    const published = {
      ...RECORDS,
      [dkimTxtRecord(plan.dkim[0]!).name]: dkimTxtRecord(plan.dkim[0]!).text,
    };
    const results2 = await (await dkimpyVerifier(published))(copies.map((m) => m.raw));
    for (const result of results2)
      expect(result.dkim.filter((d) => d.d === DOMAIN).map((d) => [d.s, d.ok])).toEqual([
        ['rsa2025', true],
        ['ed2025', true],
      ]);
  });
});

const withServers = available && postfixAvailable() && dovecotAvailable();

describe.skipIf(!withServers)('signed copies through a real Postfix into a real Dovecot', () => {
  let dovecot: Dovecot;
  let postfix: Postfix;
  const users = ['ann', 'ben', 'cat', 'dan'];
  beforeAll(async () => {
    dovecot = await startDovecot({ users });
    postfix = await startPostfix({ lmtpPort: dovecot.ports.lmtp, mailboxes: dovecot.users });
  }, 120_000);
  afterAll(async () => {
    await postfix?.stop();
    await dovecot?.stop();
  });

  /** The copies of `messageId` in each user's INBOX, once all have arrived, CRLF as on the wire. */
  async function delivered(messageId: string, who: string[]): Promise<Buffer[]> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = await Promise.all(
        who.map(async (user) =>
          (await dovecot.messages(user))
            .map((m) => m.raw)
            .filter((raw) => raw.toString('latin1').includes(`<${messageId}>`)),
        ),
      );
      if (found.every((copies) => copies.length === 1))
        return found.map((copies) =>
          // Dovecot stores lines LF-ended; a verifier at delivery sees them as sent, CRLF.
          Buffer.from(copies[0]!.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'),
        );
      if (Date.now() > deadline)
        throw new Error(`not all copies of ${messageId} arrived:\n${await postfix.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  for (const personal of [true, false])
    it(`${personal ? 'personal copies (one-click URL)' : 'a batched post'}, an 8-bit body: dkimpy passes on what Postfix delivered`, async () => {
      const spool = join(await mkdtemp(join(tmpdir(), 'malist-spool-')), 'spool');
      cleanups.push(() => rm(join(spool, '..'), { recursive: true, force: true }));
      const plan = await planOf(await keyFiles());
      const run = queueRun(spool, plan, { port: postfix.port, personal, threads: 0 });
      for (const [n, fixture] of ['plain-post.eml', 'eight-bit.eml'].entries()) {
        const id = `postfix-${personal ? 'personal' : 'batched'}-${n}`;
        const { results } = await run.queue.enqueue(await post(id, dovecot.users, fixture), {
          sourceKept: true,
        });
        expect(
          results.map((r) => r.status),
          await postfix.log(),
        ).toEqual(users.map(() => 'delivered'));
        const copies = await delivered(`${id}@${DOMAIN}`, users);
        // Postfix and Dovecot added their trace fields; the signed ones are untouched.
        expect(copies[0]!.toString('latin1')).toMatch(/^Return-Path: /);
        expect(copies[0]!.toString('latin1')).toMatch(
          /\r\nReceived: from .*\r\n\tby postfix\.malist\.test/,
        );
        if (n === 1) expect(copies[0]!.some((byte) => byte >= 0x80)).toBe(true);
        await expectVerified(copies);
      }
    });
});
