/**
 * A child process for the crash, fault and concurrency suites: one `malist run` worth of
 * work, wired from a JSON description (argv[2]) so a test can kill it anywhere
 * (MALIST_CRASH_AT, SIGKILL) and run it again.
 *
 *   source  maildir inbox (or POP3/IMAP when `pop3` / `imap` is given)
 *   list    single-list "red" (members, non-members held)
 *   out     a maildir per recipient (`out`), or the durable queue to an SMTP server (`smtp`)
 *
 * With the queue, a `queue.run({ force: true })` follows play(), as cron's `malist queue
 * run` would: it takes over entries whose runner was killed.
 *
 * MALIST_TEST_BROKEN (read here only, never by production code) builds a deliberately
 * broken pipeline, so the harness can show that it notices:
 *   ack-before-distribute  the fetcher removes a mail from its source as soon as it is fetched
 *   non-idempotent         the maildir distributor writes a new file on every attempt
 *   no-sent-log            the queue's transport never reports transactions to the sent-log
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import createMaildirDistributor from '../../src/distributors/maildir.ts';
import createMaildirFetcher from '../../src/fetchers/maildir.ts';
import { mailBytes } from '../../src/mail/list-mail.ts';
import { play } from '../../src/play.ts';
import createSingleList from '../../src/processors/single-list.ts';
import type { Transport } from '../../src/queue/transport.ts';
import { writeFileDurable } from '../../src/state/durable.ts';
import { safeName } from '../../src/state/safe-name.ts';
import type { Distributor, Fetcher, StageFailure } from '../../src/types.ts';

export interface CrashScenarioConfig {
  inbox: string;
  state: string;
  /** Maildir root of the receivers (maildir mode). */
  out?: string;
  /** The SMTP server the queue delivers to (queue mode); the spool is `state/spool`. */
  smtp?: { port: number; max_recipients_per_transaction?: number; timeout_ms?: number };
  /** POP3/IMAP source instead of the maildir inbox. */
  pop3?: Record<string, unknown>;
  imap?: Record<string, unknown>;
  members: string[];
  posting?: 'open' | 'members';
}

const config = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as CrashScenarioConfig;
const broken = process.env.MALIST_TEST_BROKEN ?? '';

async function makeFetcher(): Promise<Fetcher> {
  let fetcher: Fetcher;
  if (config.pop3) {
    const mod = await import('../../src/fetchers/pop3.ts');
    fetcher = mod.default(config.pop3 as never);
  } else if (config.imap) {
    const mod = await import('../../src/fetchers/imap.ts');
    fetcher = mod.default(config.imap as never);
  } else {
    fetcher = createMaildirFetcher({ dir: config.inbox });
  }
  if (broken !== 'ack-before-distribute') return fetcher;
  return {
    name: fetcher.name,
    async fetch() {
      const fetched = await fetcher.fetch();
      await fetched.ack();
      return { mail: fetched.mail, ack: async () => {} };
    },
    close: () => fetcher.close(),
  };
}

function nonIdempotentMaildir(dir: string): Distributor {
  return {
    name: 'maildir',
    async distribute(mail) {
      const bytes = mailBytes(mail);
      const to = mail.ml_send_to ?? [];
      for (const r of to) {
        const name = `${Date.now()}.${randomBytes(6).toString('hex')}`;
        const box = join(dir, safeName(r.toLowerCase()));
        await writeFileDurable(join(box, 'new', name), bytes, { tmpDir: join(box, 'tmp') });
      }
      return {
        results: to.map((recipient) => ({
          recipient,
          status: 'delivered' as const,
          distributor: 'maildir',
        })),
      };
    },
  };
}

const failures: StageFailure[] = [];
const reactor = {
  name: 'collect',
  async react(failure: StageFailure) {
    failures.push(failure);
    const error = failure.error as { message?: string };
    process.stderr.write(
      `malist: ${failure.stage} ${failure.unit}: ${error.message ?? String(failure.error)}\n`,
    );
  },
};

/** The queue distributor (a fresh one per use: play() closes its distributors). */
async function makeQueue(smtpConfig: NonNullable<CrashScenarioConfig['smtp']>) {
  const timeout = smtpConfig.timeout_ms ?? 5_000;
  const smtp = {
    host: '127.0.0.1',
    port: smtpConfig.port,
    starttls: 'never' as const,
    max_recipients_per_transaction: smtpConfig.max_recipients_per_transaction ?? 50,
    connection_timeout_ms: timeout,
    greeting_timeout_ms: timeout,
    socket_timeout_ms: timeout,
    transaction_timeout_ms: timeout * 2,
  };
  let transport: Transport | undefined;
  if (broken === 'no-sent-log') {
    const { createSmtpTransport } = await import('../../src/smtp/nodemailer.ts');
    const inner = createSmtpTransport(smtp);
    transport = {
      name: inner.name,
      send: ({ onTransaction: _dropped, ...job }) => inner.send(job),
      close: () => inner.close(),
    };
  }
  // Loaded only when used: nodemailer is slow to import, and every child start counts.
  const { default: createQueueDistributor } = await import('../../src/distributors/queue.ts');
  return createQueueDistributor({
    dir: join(config.state, 'spool'),
    retry: { initial_seconds: 1, factor: 1, max_seconds: 1 },
    smtp,
    ...(transport ? { transport } : {}),
    reactors: [reactor],
  });
}

let distributor: Distributor;
if (config.smtp) distributor = await makeQueue(config.smtp);
else
  distributor =
    broken === 'non-idempotent'
      ? nonIdempotentMaildir(config.out!)
      : createMaildirDistributor({ dir: config.out! });

const summary = await play({
  fetcher: await makeFetcher(),
  processor: createSingleList({
    name: 'red',
    address: 'red@list.example.com',
    members: config.members,
    posting: config.posting ?? 'members',
    subject_prefix: '[Red] ',
  }),
  distributor,
  reactor,
  stateDir: config.state,
});
let queueRun: unknown;
let waiting = 0;
if (config.smtp) {
  // What cron's `malist queue run` does next: takes over entries of killed runners.
  const runner = await makeQueue(config.smtp);
  queueRun = await runner.queue.run({ force: true });
  waiting = (await runner.queue.list()).filter((e) => e.where !== 'dead').length;
  await runner.close?.();
}
process.stdout.write(
  `${JSON.stringify({ summary, queueRun, waiting, failures: failures.length })}\n`,
);
// A run that left mail behind (a stage failed) says so: the harness runs it again.
process.exitCode = summary.failed > 0 || summary.fetchError || waiting > 0 ? 75 : 0;
