/**
 * One malist benchmark case, in a child process of bench/run.ts so its peak RSS is its
 * own: `node --import tsx bench/case.ts '<json CaseInput>'`. Prints one JSON line
 * (CaseOutput). Times are epoch ms with sub-ms precision, comparable with the sink's.
 *
 * kinds:
 *   play        posts in a maildir inbox → play() → single-list → durable queue → bulk client;
 *               `verp`: the list's VERP, each member's sender with its cookie (an HMAC per
 *               member, config/verp.ts), as `malist run` sends it
 *   (bulk and nodemailer below: `verp` is the transports' plain VERP, no cookie)
 *   bulk        the bulk client alone (no queue), one send
 *   nodemailer  malist's nodemailer transport (distributors/smtp.ts) alone, one send
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DkimAlgorithm, loadSigningKey } from '../src/auth/keys.ts';
import { withRefusalRecording } from '../src/bounces/refusals.ts';
import { SentIndex } from '../src/bounces/sent-index.ts';
import type { Plans } from '../src/config/build.ts';
import { listPersonaliser } from '../src/config/personalise.ts';
import { type ListSigning, listSigning } from '../src/config/signing.ts';
import { listVerpSender } from '../src/config/verp.ts';
import createQueueDistributor from '../src/distributors/queue.ts';
import createMaildirFetcher from '../src/fetchers/maildir.ts';
import createMemoryMemberStore from '../src/members/memory.ts';
import { play, RUN_CONCURRENCY } from '../src/play.ts';
import createSingleList from '../src/processors/single-list.ts';
import type { DeliveredEvent } from '../src/queue/queue.ts';
import { createBulkTransport } from '../src/smtp/bulk-client.ts';
import { createSmtpTransport } from '../src/smtp/nodemailer.ts';
import { LIST_ADDRESS, makeMembers, makePost } from './post.ts';

export interface CaseInput {
  kind: 'play' | 'bulk' | 'nodemailer';
  port: number;
  members: number;
  verp: boolean;
  bodyBytes: number;
  /** Posts in the inbox (play only). @default 1 */
  posts?: number;
  /** The maildir holding the posts (play only), written by the parent. */
  inbox?: string;
  faults?: boolean;
  /** Where the spool and the journal go. @default the system's temp directory */
  workDir?: string;
  /** Spool and journal on /dev/shm (diagnostic only: fsync is free there). */
  tmpfs?: boolean;
  /** @default the engine's (DEFAULT_CONNECTIONS in src/smtp/server-options.ts) */
  connections?: number;
  perTransaction: number;
  /** Mails play() handles at once. @default RUN_CONCURRENCY, what `malist run` uses */
  concurrency?: number;
  /**
   * Each member's copy personal (play only): List-Unsubscribe with their RFC 8058 one-click
   * URL, made in the queue's per-recipient step as `malist` makes it (config/personalise.ts).
   */
  personal?: boolean;
  /** DKIM-sign the copies in the queue (play only), as a list with `dkim:` does. */
  sign?: { algorithm: DkimAlgorithm; selfCheck: boolean; threads: number };
}

export interface CaseOutput {
  t0: number;
  t1: number;
  /** After the retry run (faults only). */
  t2?: number;
  maxRssKb: number;
  /** CPU time of the case (user, kernel), ms: what the process itself spent. */
  cpuUserMs?: number;
  cpuSysMs?: number;
  /** RSS just before the case started (modules loaded, inputs written). */
  rssBeforeKb?: number;
  delivered: number;
  failed: number;
  deferred: number;
  /** Recipients in dead letters (play only). */
  dead?: number;
  /** Deferred again by the retry run (faults only). */
  stillDeferred?: number;
  /** Delivered by the retry run (faults only). */
  retried?: number;
  posts?: number;
}

const now = () => performance.timeOrigin + performance.now();
const input = JSON.parse(process.argv[2] ?? '{}') as CaseInput;
const members = makeMembers(input.members, input.faults);
const smtp = {
  host: '127.0.0.1',
  port: input.port,
  starttls: 'never' as const,
  // play: VERP comes from the list (senders with cookies), not from the transport.
  verp: input.kind === 'play' ? false : input.verp,
  ...(input.connections ? { max_connections: input.connections } : {}),
  max_recipients_per_transaction: input.perTransaction,
};
const out: Partial<CaseOutput> = {};
let cpuBefore = process.cpuUsage();
const tally = (results: Array<{ status: string }>) => {
  out.delivered = results.filter((r) => r.status === 'delivered').length;
  out.failed = results.filter((r) => r.status === 'failed').length;
  out.deferred = results.filter((r) => r.status === 'deferred' || r.status === 'queued').length;
};

// tmpfs: a diagnostic of the engine without the disk's fsync latency (not durable).
const UNSUBSCRIBE_URL = 'https://list.example.test/unsubscribe/{list}/{member}/{token}';

/** The signer of list `bench` with a new key in `dir` (config/signing.ts, as `malist` wires it). */
async function benchSigning(
  dir: string,
  sign: NonNullable<CaseInput['sign']>,
): Promise<ListSigning> {
  const pair =
    sign.algorithm === 'ed25519-sha256'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const options = {
    domain: 'list.example.test',
    selector: 'bench',
    key_file: join(dir, 'bench.pem'),
    algorithm: sign.algorithm,
  };
  await writeFile(options.key_file, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  const key = await loadSigningKey(options);
  const plan = { dkim: [key], dkimOptions: [options], selfCheck: sign.selfCheck, published: [] };
  return listSigning(new Map([['bench', plan]]), { threads: sign.threads })!;
}

const work = await mkdtemp(
  join(input.tmpfs ? '/dev/shm' : (process.env.BENCH_DIR ?? tmpdir()), 'malist-bench-'),
);
try {
  if (input.kind === 'play') {
    // The parent wrote the inbox: making a 20 MB post here would count in this RSS.
    const inbox = input.inbox as string;
    const spool = join(work, 'spool');
    const list = { name: 'bench', address: LIST_ADDRESS, members: [] };
    const secret = Buffer.alloc(32, 7);
    const sender = input.verp ? listVerpSender([list], secret) : undefined;
    const stateDir = join(work, 'state');
    const index = new SentIndex(stateDir);
    // As the composition root wires it: later queue runs' deliveries go into the sent index.
    const onDelivered = (event: DeliveredEvent) =>
      index.record('bench', event.messageId ?? '', event.recipients, Date.now());
    const settings = {
      name: 'bench',
      address: LIST_ADDRESS,
      members,
      posting: 'open' as const,
      ...(input.personal ? { unsubscribe_url: UNSUBSCRIBE_URL } : {}),
    };
    const signing = input.sign ? await benchSigning(work, input.sign) : undefined;
    const plans = { lists: [{ list: { name: 'bench', settings }, units: [] }] } as unknown as Plans;
    const distributor = createQueueDistributor({
      dir: spool,
      transport: createBulkTransport(smtp),
      ...(sender ? { sender } : {}),
      onDelivered,
      ...(input.personal ? { personalise: listPersonaliser(plans, secret) } : {}),
      ...(signing ? { signer: signing.signer } : {}),
    });
    const processor = createSingleList(settings);
    // As `malist run` wraps it: deliveries go into the sent index, refusals are scored.
    const store = createMemoryMemberStore({ members: members.map((address) => ({ address })) });
    const recorded = withRefusalRecording(distributor, {
      lists: { bench: { list, store, state_dir: stateDir } },
      secret,
      state_dir: stateDir,
    });
    const first = { delivered: 0, failed: 0, queued: 0 };
    out.rssBeforeKb = Math.round(process.memoryUsage().rss / 1024);
    cpuBefore = process.cpuUsage();
    out.t0 = now();
    const summary = await play({
      fetcher: createMaildirFetcher({ dir: inbox }),
      processor,
      distributor: recorded,
      stateDir,
      concurrency: input.concurrency ?? RUN_CONCURRENCY,
      onOutcome: (event) => {
        for (const r of event.report?.results ?? []) {
          if (r.status === 'delivered') first.delivered++;
          else if (r.status === 'failed') first.failed++;
          else first.queued++;
        }
      },
    });
    out.t1 = now();
    const cpu = process.cpuUsage(cpuBefore);
    out.cpuUserMs = cpu.user / 1000;
    out.cpuSysMs = cpu.system / 1000;
    out.posts = summary.distributed;
    out.delivered = first.delivered;
    out.failed = first.failed;
    out.deferred = first.queued;
    if (input.faults) {
      // The deferred recipients wait for their backoff; a forced run stands for the next
      // cron run (`malist queue run`), with its own transport: play() closed the first.
      const runner = createQueueDistributor({
        dir: spool,
        transport: createBulkTransport(smtp),
        ...(sender ? { sender } : {}),
        onDelivered,
      });
      const retry = await runner.queue.run({ force: true });
      await runner.close?.();
      out.t2 = now();
      out.retried = retry.delivered;
      out.stillDeferred = retry.deferred;
    }
    let dead = 0;
    const deadDir = join(distributor.queue.where, 'dead');
    for (const id of await readdir(deadDir)) {
      const envelope = JSON.parse(await readFile(join(deadDir, id, 'envelope.json'), 'utf8')) as {
        recipients: Array<{ state: string }>;
      };
      dead += envelope.recipients.filter((r) => r.state === 'failed').length;
    }
    out.dead = dead;
    await distributor.close?.();
    await signing?.close();
  } else {
    const transport = input.kind === 'bulk' ? createBulkTransport(smtp) : createSmtpTransport(smtp);
    const raw = makePost(input.bodyBytes, `direct.${process.pid}`);
    out.t0 = now();
    const results = await transport.send({
      from: 'bench-bounces@list.example.test',
      to: members,
      raw,
    });
    out.t1 = now();
    tally(results);
    await transport.close();
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
out.maxRssKb = process.resourceUsage().maxRSS;
process.stdout.write(`${JSON.stringify(out)}\n`);
