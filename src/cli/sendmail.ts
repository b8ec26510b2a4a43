/**
 * `malist sendmail`: a /usr/bin/sendmail-compatible entry (mailqueue-runner's mq-sendmail),
 * so cron jobs and applications can hand mail to malist. The message goes through the
 * same durable queue as list posts: spooled first (exit 0 means it is safe on disk), then
 * delivered at once when the SMTP server is up, or by `malist queue run` later.
 */
import { describeError, StageError } from '../errors.ts';
import { uniqueEntryId } from '../queue/entry-id.ts';
import type { Queue } from '../queue/queue.ts';
import { prepareSubmission, type SubmissionOptions } from '../queue/submission.ts';
import { EX } from './exit-codes.ts';
import { type OpenedQueues, openQueues } from './queue-config.ts';

export const usage = `usage: malist sendmail [options] [--] [recipient ...] < message

sendmail-compatible options:
  -t                take recipients from To, Cc and Bcc (added to the arguments);
                    Bcc is removed from the message sent, its recipients still get it
  -f ADDR, -fADDR   envelope sender (else the From address, else user@host)
  -F NAME           full name for a From field added when the message has none
  -i, -oi           a line with a single dot does not end the message
  -bm, -odi, -odb, -oem, -oee, -v, -U, -N DSN, -R RET, -V ENVID, -C FILE, -B TYPE, -L TAG
                    accepted and ignored, for callers that pass them
malist options:
  --config DIR      use the (first) type: queue distributor of DIR/malist.yaml
                    (default: the working directory)
  --spool DIR       without --config: this spool, delivered to --smtp HOST[:PORT]
                    (default localhost:25)
  --queue-only      only spool the message; \`malist queue run\` delivers it
  -h, --help        this text

exit: 0 spooled (and maybe delivered), 64 usage, 65 no recipients, 75 could not spool, 78 config.
`;

interface Parsed extends SubmissionOptions {
  recipients: string[];
  ignoreDots: boolean;
  spool?: string;
  config?: string;
  smtp?: string;
  queueOnly: boolean;
  help: boolean;
}

/** Options that take a value (as the next argument, or glued: -fADDR). */
const WITH_VALUE = new Set(['f', 'F', 'N', 'R', 'V', 'C', 'B', 'L', 'r', 'X', 'O', 'q', 'p', 'h']);

/** Parses sendmail's command line; throws an Error with a user-facing message. */
export function parseSendmailArgs(argv: string[]): Parsed {
  const out: Parsed = { recipients: [], ignoreDots: false, queueOnly: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const value = (name: string): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value`);
      return next;
    };
    if (arg === '--') {
      out.recipients.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--spool') out.spool = value(arg);
    else if (arg === '--config') out.config = value(arg);
    else if (arg === '--smtp') out.smtp = value(arg);
    else if (arg === '--queue-only') out.queueOnly = true;
    else if (arg === '--help' || arg === '-h') out.help = true;
    else if (arg === '-t') out.fromHeaders = true;
    else if (arg === '-i' || arg === '-oi') out.ignoreDots = true;
    else if (
      arg.startsWith('-o') ||
      arg.startsWith('-b') ||
      arg === '-v' ||
      arg === '-U' ||
      arg === '-n'
    ) {
      // -oXvalue, -bm and friends: delivery-mode knobs that mean nothing here.
      if (arg.startsWith('-b') && arg !== '-bm')
        throw new Error(`${arg} is not supported (only -bm)`);
    } else if (arg.length >= 2 && arg[0] === '-' && WITH_VALUE.has(arg[1] as string)) {
      const v = arg.length > 2 ? arg.slice(2) : value(arg);
      if (arg[1] === 'f' || arg[1] === 'r') out.sender = v === '<>' ? '' : v.replace(/^<|>$/g, '');
      else if (arg[1] === 'F') out.fullName = v;
    } else if (arg.startsWith('-')) {
      throw new Error(`unknown option ${arg}`);
    } else {
      out.recipients.push(arg);
    }
  }
  return out;
}

/** The message from stdin; without -i, a line holding a single dot ends it (sendmail's rule). */
export async function readMessage(
  input: NodeJS.ReadableStream,
  ignoreDots: boolean,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  const all = Buffer.concat(chunks);
  if (ignoreDots) return all;
  const match = /(^|\n)\.\r?(\n|$)/.exec(all.toString('latin1'));
  return match ? all.subarray(0, match.index + match[1]!.length) : all;
}

export default async function sendmailCommand(
  argv: string[],
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<number> {
  let args: Parsed;
  try {
    args = parseSendmailArgs(argv);
  } catch (error) {
    process.stderr.write(`malist sendmail: ${describeError(error)}\n${usage}`);
    return EX.USAGE;
  }
  if (args.help) {
    process.stdout.write(usage);
    return EX.OK;
  }
  let opened: OpenedQueues;
  try {
    opened = await openQueues(args);
  } catch (error) {
    process.stderr.write(`malist sendmail: ${describeError(error)}\n`);
    return error instanceof StageError && error.code === 'ECONFIG' ? EX.CONFIG : EX.SOFTWARE;
  }
  // Mail from cron and applications takes the first configured queue.
  const queue = opened.queues[0] as Queue;
  try {
    const raw = await readMessage(stdin, args.ignoreDots);
    let submission: ReturnType<typeof prepareSubmission>;
    try {
      submission = prepareSubmission(raw, args);
    } catch (error) {
      process.stderr.write(`malist sendmail: ${describeError(error)}\n`);
      return EX.DATAERR;
    }
    const { outcome, results } = await queue.enqueue(
      {
        id: uniqueEntryId(),
        raw: submission.raw,
        sender: submission.sender,
        recipients: submission.recipients,
        messageId: submission.messageId,
      },
      args.queueOnly ? { deliverNow: false } : {},
    );
    for (const r of results) {
      if (r.status === 'failed') {
        process.stderr.write(
          `malist sendmail: ${r.recipient} refused: ${r.response ?? r.code ?? ''}\n`,
        );
      }
    }
    if (process.env.MALIST_DEBUG)
      process.stderr.write(`malist sendmail: queued as ${outcome.id}\n`);
    return EX.OK;
  } catch (error) {
    process.stderr.write(`malist sendmail: could not spool the message: ${describeError(error)}\n`);
    return EX.TEMPFAIL;
  } finally {
    await opened.close();
  }
}
