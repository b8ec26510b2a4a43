/**
 * Crash scenarios: a source filled with posts, the child `test/helpers/crash-scenario.ts`,
 * and a receiver that counts (post, recipient) pairs.
 *
 *   maildir  maildir inbox → single-list "red" → a maildir per recipient
 *   queue    maildir inbox → single-list "red" → durable queue → the SMTP test server
 *
 * Every scenario mixes member posts (expected at every member) with a non-member's post
 * (expected in the held store, at nobody).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeaderBlock } from '../../../src/mail/header-block.ts';
import type { CrashScenarioConfig } from '../../helpers/crash-scenario.ts';
import type { Dovecot } from '../../helpers/dovecot.ts';
import type { TestSmtpServer } from '../../helpers/smtp-server.ts';
import { type ChildOptions, REPO, runChild, type Scenario, type Tally, tally } from './harness.ts';

export const SCENARIO_SCRIPT = join(REPO, 'test', 'helpers', 'crash-scenario.ts');

export const PLAY_POINTS = [
  'play.after-fetch',
  'play.after-distribute',
  'play.before-ack',
] as const;
export const QUEUE_POINTS = [
  'queue.after-spool-write',
  'queue.after-claim',
  'queue.after-smtp-reply',
  'queue.after-sent-log',
  'queue.before-envelope-update',
  'queue.before-unlink',
] as const;
/**
 * The queue's points a post reaches when its first round (delivered before anything is
 * spooled) leaves nobody over: no spool entry is written. `queueScenario` with
 * `deferFirst` reaches all of QUEUE_POINTS.
 */
export const FIRST_ROUND_POINTS = QUEUE_POINTS.filter((p) => p !== 'queue.after-spool-write');

/**
 * Crash points only the long suite reaches (it starts a real Dovecot): the short suite
 * checks that every crashPoint() in src/ is either its own or listed here.
 */
export const LONG_SUITE_POINTS: ReadonlyMap<string, string> = new Map(
  [
    'pop3.after-record',
    'pop3.after-dele',
    'pop3.before-quit',
    ...[
      'imap.after-record',
      'imap.after-move',
      'imap.after-copy',
      'imap.after-flag',
      'imap.after-expunge',
    ],
  ].map((p) => [p, 'POP3/IMAP scenarios against a real Dovecot (npm run test:crash)']),
);

/**
 * Points where a crash is allowed to duplicate: the process dies after the server's 250
 * and before anything durable records it (RFC 1047's window). The next run cannot know the
 * server took the message and sends it again — the alternative would be losing it. The
 * harness still counts these; the suites hold them to "at most one extra copy per
 * recipient in flight" and 0 lost.
 */
export const RFC1047_POINTS: ReadonlySet<string> = new Set([
  'queue.after-smtp-reply',
  // Transactions run concurrently but their sent-log lines are appended one after the
  // other: while one transaction's line is written, another's 250 may wait its turn.
  'queue.after-sent-log',
]);

export interface PostPlan {
  /** Members of the list (receive every member post). */
  members: string[];
  /** Posts by members. @default 3 */
  memberPosts?: number;
  /** Posts by a non-member (held). @default 1 */
  strangerPosts?: number;
}

async function listFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}

function messageIdOf(raw: Buffer): string {
  const value = HeaderBlock.parse(raw).header.get('Message-ID') ?? '';
  return /<([^>]*)>/.exec(value)?.[1] ?? value;
}

/** The posts of a trial (unique Message-IDs) and the (post, recipient) pairs they should make. */
export function makePosts(id: string, plan: PostPlan): { raws: Buffer[]; expected: string[] } {
  const raws: Buffer[] = [];
  const expected: string[] = [];
  const memberPosts = plan.memberPosts ?? 3;
  const strangerPosts = plan.strangerPosts ?? 1;
  for (let i = 0; i < memberPosts + strangerPosts; i++) {
    const member = i < memberPosts;
    const from = member ? plan.members[i % plan.members.length]! : 'mallory@elsewhere.example';
    const mid = `${id}.p${i}@crash.test`;
    const raw = [
      `From: Poster ${i} <${from}>`,
      'To: red@list.example.com',
      `Subject: post ${i} of trial ${id}`,
      `Message-ID: <${mid}>`,
      'Date: Mon, 23 Nov 2026 12:00:00 +0000',
      '',
      `Body of post ${i}.`,
      '',
    ].join('\r\n');
    raws.push(Buffer.from(raw));
    if (member) for (const r of plan.members) expected.push(`${mid} -> ${r}`);
    else expected.push(`${mid} -> held`);
  }
  return { raws, expected };
}

/** Writes the posts into a fresh maildir inbox; returns the expected (post, recipient) pairs. */
export async function fillInbox(inbox: string, id: string, plan: PostPlan): Promise<string[]> {
  for (const sub of ['new', 'cur', 'tmp']) await mkdir(join(inbox, sub), { recursive: true });
  const { raws, expected } = makePosts(id, plan);
  for (const [i, raw] of raws.entries()) {
    // Maildir names start with the delivery time: the fetcher keeps this order.
    await writeFile(join(inbox, 'new', `${1_700_000_000 + i}.${id}p${i}.crashhost`), raw);
  }
  return expected;
}

/** The held store's pairs (`<mid> -> held`). */
async function heldPairs(state: string): Promise<string[]> {
  const dir = join(state, 'held', 'red');
  const out: string[] = [];
  for (const name of (await listFiles(dir)).filter((n) => n.endsWith('.json'))) {
    try {
      const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as { messageId?: string };
      out.push(`${meta.messageId ?? '?'} -> held`);
    } catch {
      out.push(`unreadable ${name} -> held`);
    }
  }
  return out;
}

/** The pairs delivered into a maildir per recipient (`out/<recipient>/{new,cur}`). */
async function maildirPairs(out: string): Promise<string[]> {
  const received: string[] = [];
  for (const rcpt of await listFiles(out)) {
    for (const sub of ['new', 'cur']) {
      for (const file of await listFiles(join(out, rcpt, sub))) {
        received.push(`${messageIdOf(await readFile(join(out, rcpt, sub, file)))} -> ${rcpt}`);
      }
    }
  }
  return received;
}

async function inboxLeft(inbox: string): Promise<number> {
  return (
    (await listFiles(join(inbox, 'new'))).length + (await listFiles(join(inbox, 'cur'))).length
  );
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

interface SpoolEnvelope {
  id: string;
  message_id?: string;
  recipients: { address: string; state: string }[];
}

/**
 * After a kill: the pairs in RFC 1047's window, accepted by the server (`accepted`) and not
 * recorded in `spool`, each excused one more copy in `excused` (for tally()). The server
 * is given 200 ms first to finish reading what the dead client sent.
 */
export async function noteInDoubt(
  spool: string,
  accepted: string[] | (() => string[]),
  excused: Map<string, number>,
): Promise<void> {
  await new Promise((r) => setTimeout(r, 200));
  const recorded = await recordedPairs(spool);
  const copies = new Map<string, number>();
  for (const pair of typeof accepted === 'function' ? accepted() : accepted)
    copies.set(pair, (copies.get(pair) ?? 0) + 1);
  for (const [pair, n] of copies)
    if (!recorded.has(pair)) excused.set(pair, Math.max(excused.get(pair) ?? 0, n));
}

/**
 * The (post, recipient) pairs the queue has recorded as delivered, durably: in an envelope
 * (waiting, claimed, done or dead) or in a sent-log.
 */
export async function recordedPairs(spool: string): Promise<Set<string>> {
  const envelopes: SpoolEnvelope[] = [];
  for (const sub of ['new', 'cur', 'dead']) {
    for (const name of await listFiles(join(spool, sub))) {
      const e = await readJson<SpoolEnvelope>(join(spool, sub, name, 'envelope.json'));
      if (e) envelopes.push(e);
    }
  }
  for (const name of await listFiles(join(spool, 'done'))) {
    const e = await readJson<SpoolEnvelope>(join(spool, 'done', name));
    if (e) envelopes.push(e);
  }
  const midOf = new Map(envelopes.map((e) => [e.id, e.message_id ?? '?']));
  const recorded = new Set<string>();
  for (const e of envelopes)
    for (const r of e.recipients)
      if (r.state === 'delivered') recorded.add(`${e.message_id} -> ${r.address.toLowerCase()}`);
  for (const name of await listFiles(join(spool, 'sent'))) {
    const id = name.replace(/\.log$/, '');
    const text = await readFile(join(spool, 'sent', name), 'utf8').catch(() => '');
    // A post finished in its first round has no envelope: its sent-log's header names it.
    let mid = midOf.get(id) ?? '?';
    for (const line of text.split('\n')) {
      try {
        const { r, s, header } = JSON.parse(line) as {
          r?: string;
          s?: string;
          header?: { message_id?: string };
        };
        if (header?.message_id) mid = header.message_id;
        if (r && s === 'delivered') recorded.add(`${mid} -> ${r.toLowerCase()}`);
      } catch {
        // a torn line was never acknowledged
      }
    }
  }
  return recorded;
}

interface TrialDirs {
  root: string;
  inbox: string;
  state: string;
  configPath: string;
}

async function makeTrialDirs(prefix: string): Promise<TrialDirs> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return {
    root,
    inbox: join(root, 'inbox'),
    state: join(root, 'state'),
    configPath: join(root, 'scenario.json'),
  };
}

function childRunner(configPath: string) {
  return (opts: ChildOptions = {}) => runChild(SCENARIO_SCRIPT, [configPath], opts);
}

/** maildir inbox → single-list → a maildir per recipient. */
export function maildirScenario(plan: PostPlan, name = 'maildir'): Scenario {
  return {
    name,
    points: PLAY_POINTS,
    async prepare(id) {
      const dirs = await makeTrialDirs('malist-crash-maildir-');
      const out = join(dirs.root, 'out');
      const expected = await fillInbox(dirs.inbox, id, plan);
      const config: CrashScenarioConfig = {
        inbox: dirs.inbox,
        state: dirs.state,
        out,
        members: plan.members,
      };
      await writeFile(dirs.configPath, JSON.stringify(config));
      return {
        run: childRunner(dirs.configPath),
        async count(): Promise<Tally> {
          const received = await maildirPairs(out);
          received.push(...(await heldPairs(dirs.state)));
          return tally(expected, received, await inboxLeft(dirs.inbox));
        },
        dispose: () => rm(dirs.root, { recursive: true, force: true }),
      };
    },
  };
}

/**
 * maildir inbox → single-list → the durable queue → the SMTP test server (shared). With
 * `deferFirst`, each trial has a server of its own that answers 451 to that member once:
 * the first post's first round leaves that recipient over, so it is spooled (the points
 * of writing a spool entry are reached), and the run's queue pass delivers it.
 */
export function queueScenario(
  shared: TestSmtpServer,
  plan: PostPlan & { batch?: number; timeoutMs?: number; deferFirst?: string },
  name = plan.deferFirst ? 'queue-smtp-451' : 'queue-smtp',
): Scenario {
  return {
    name,
    points: [...PLAY_POINTS, ...QUEUE_POINTS],
    windowPoints: RFC1047_POINTS,
    async prepare(id) {
      let server = shared;
      if (plan.deferFirst) {
        const { startSmtpServer } = await import('../../helpers/smtp-server.ts');
        server = await startSmtpServer();
        server.addRule({
          stage: 'rcpt',
          recipient: plan.deferFirst,
          reply: { code: 451, message: '4.7.1 try again later' },
          times: 1,
        });
      }
      const dirs = await makeTrialDirs('malist-crash-queue-');
      const expected = await fillInbox(dirs.inbox, id, plan);
      const config: CrashScenarioConfig = {
        inbox: dirs.inbox,
        state: dirs.state,
        smtp: {
          port: server.port,
          ...(plan.batch ? { max_recipients_per_transaction: plan.batch } : {}),
          ...(plan.timeoutMs ? { timeout_ms: plan.timeoutMs } : {}),
        },
        members: plan.members,
      };
      await writeFile(dirs.configPath, JSON.stringify(config));
      const accepted = () => {
        const pairs: string[] = [];
        for (const message of server.accepted) {
          if (!message.messageId.startsWith(`${id}.`)) continue;
          for (const r of message.to) pairs.push(`${message.messageId} -> ${r.toLowerCase()}`);
        }
        return pairs;
      };
      const excused = new Map<string, number>();
      return {
        run: childRunner(dirs.configPath),
        afterCrash: () => noteInDoubt(join(dirs.state, 'spool'), accepted, excused),
        async count(): Promise<Tally> {
          const received = accepted();
          received.push(...(await heldPairs(dirs.state)));
          const waiting = [
            ...(await listFiles(join(dirs.state, 'spool', 'new'))),
            ...(await listFiles(join(dirs.state, 'spool', 'cur'))),
          ].length;
          return tally(expected, received, (await inboxLeft(dirs.inbox)) + waiting, excused);
        },
        async dispose() {
          if (server !== shared) await server.stop();
          await rm(dirs.root, { recursive: true, force: true });
        },
      };
    },
  };
}

export const POP3_POINTS = ['pop3.after-record', 'pop3.after-dele', 'pop3.before-quit'] as const;
export const IMAP_POINTS = [
  'imap.after-record',
  'imap.after-move',
  'imap.after-copy',
  'imap.after-flag',
  'imap.after-expunge',
] as const;

/**
 * A real Dovecot mailbox (POP3 or IMAP, over TLS) → single-list → a maildir per recipient.
 * Each trial takes a fresh user from `users` (so trials never share a mailbox).
 */
export function dovecotScenario(
  dovecot: Dovecot,
  opts: {
    kind: 'pop3' | 'imap';
    users: string[];
    plan: PostPlan;
    points: readonly string[];
    /** IMAP: move handled mail here instead of deleting it. */
    moveTo?: string;
    name?: string;
  },
): Scenario {
  const users = [...opts.users];
  return {
    name: opts.name ?? opts.kind,
    points: opts.points,
    async prepare(id) {
      const user = users.shift();
      if (!user) throw new Error(`${opts.kind} scenario: out of Dovecot users`);
      const dirs = await makeTrialDirs(`malist-crash-${opts.kind}-`);
      const out = join(dirs.root, 'out');
      const { raws, expected } = makePosts(id, opts.plan);
      if (opts.moveTo)
        for (const raw of raws) expected.push(`${messageIdOf(raw)} -> ${opts.moveTo}`);
      if (opts.moveTo) await dovecot.createFolder(user, opts.moveTo);
      for (const raw of raws) await dovecot.deliver(user, raw);
      const server = {
        host: dovecot.host,
        port: opts.kind === 'pop3' ? dovecot.ports.pop3s : dovecot.ports.imaps,
        tls: 'implicit',
        caFile: dovecot.caFile,
        user: dovecot.address(user),
        password: dovecot.password(user),
        stateDir: dirs.state,
        tmpDir: dirs.root,
        timeout: 10_000,
        ...(opts.kind === 'imap' ? { lockTimeout: 10_000 } : {}),
        ...(opts.moveTo ? { moveTo: opts.moveTo } : {}),
      };
      const config: CrashScenarioConfig = {
        inbox: dirs.inbox,
        state: dirs.state,
        out,
        members: opts.plan.members,
        [opts.kind]: server,
      };
      await writeFile(dirs.configPath, JSON.stringify(config));
      return {
        run: childRunner(dirs.configPath),
        async count(): Promise<Tally> {
          const received = await maildirPairs(out);
          received.push(...(await heldPairs(dirs.state)));
          // Handled mail moved aside must be there once each (a COPY repeated is a duplicate).
          if (opts.moveTo) {
            for (const m of await dovecot.messages(user, opts.moveTo))
              received.push(`${messageIdOf(m.raw)} -> ${opts.moveTo}`);
          }
          // Without UIDPLUS handled mail stays flagged \Deleted (maildir flag T) by design:
          // a bare EXPUNGE would remove other clients' mail too. Those are not "left".
          const inbox = await dovecot.messages(user);
          const left = inbox.filter((m) => !/:2,[A-Z]*T/.test(m.file)).length;
          return tally(expected, received, left);
        },
        dispose: () => rm(dirs.root, { recursive: true, force: true }),
      };
    },
  };
}

/**
 * An MTA hook: each post handed to `malist receive --list red` (the real command); a post
 * whose hook was killed or exited 75 stays with the "MTA" and is handed over again on the
 * next run; every run ends with `malist run` as cron does (it works the queue, taking over
 * entries of killed hooks). A run stops at the first killed process, as a crash would.
 */
export function receiveScenario(
  server: TestSmtpServer,
  plan: PostPlan,
  name = 'receive-smtp',
): Scenario {
  return {
    name,
    points: [...PLAY_POINTS, ...QUEUE_POINTS],
    windowPoints: RFC1047_POINTS,
    async prepare(id) {
      const { writeConfig, MALIST } = await import('../../helpers/crash-config.ts');
      const { raws, expected } = makePosts(id, plan);
      const dir = await writeConfig({ smtpPort: server.port });
      const members = plan.members;
      await writeFile(
        join(dir, 'lists', 'red.yaml'),
        `${JSON.stringify({ address: 'red@list.example.com', posting: 'members', non_member_action: 'hold', subject_prefix: '[Red] ', members }, null, 2)}\n`,
      );
      const mta = [...raws];
      const accepted = () =>
        server.accepted
          .filter((m) => m.messageId.startsWith(`${id}.`))
          .flatMap((m) => m.to.map((r) => `${m.messageId} -> ${r.toLowerCase()}`));
      const excused = new Map<string, number>();
      const env = { ORIGINAL_RECIPIENT: '', RECIPIENT: '', LOCAL: '', DOMAIN: '' };
      return {
        async run(opts: ChildOptions = {}) {
          const o = { ...opts, env: { ...env, ...opts.env } };
          let last: Awaited<ReturnType<typeof runChild>> | undefined;
          while (mta.length > 0) {
            last = await runChild(MALIST, ['receive', '--config', dir, '--list', 'red'], {
              ...o,
              input: mta[0]!,
            });
            if (last.code === 0) mta.shift();
            else return last; // killed or 75: the MTA keeps it for the next run
          }
          last = await runChild(MALIST, ['run', '--config', dir], o);
          return last;
        },
        afterCrash: () => noteInDoubt(join(dir, 'spool'), accepted, excused),
        async count(): Promise<Tally> {
          const received = accepted();
          for (const name of (await listFiles(join(dir, 'state', 'held', 'red'))).filter((n) =>
            n.endsWith('.json'),
          )) {
            const meta = await readJson<{ messageId?: string }>(
              join(dir, 'state', 'held', 'red', name),
            );
            received.push(`${meta?.messageId ?? '?'} -> held`);
          }
          const waiting = [
            ...(await listFiles(join(dir, 'spool', 'new'))),
            ...(await listFiles(join(dir, 'spool', 'cur'))),
          ].length;
          return tally(expected, received, mta.length + waiting, excused);
        },
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    },
  };
}
