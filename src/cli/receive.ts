/**
 * `malist receive [--list NAME] [--recipient ADDR] [--config DIR]` — one mail on standard
 * input, as procmail, a Postfix pipe or alias, Exim or qmail hands it over. The exit code
 * tells the MTA what to do (sysexits): 0 handled (distributed, queued, held, rejected with
 * notice, discarded), 67 unknown list (bounce), 75 temporary failure (the MTA keeps the mail
 * and retries: nothing was lost), 78 configuration error, 65 unusable input.
 *
 * Postfix's pipe(8) and local(8), and Exim, bounce on 78 (Postfix maps it to 5.3.5):
 * `--defer-config-errors` exits 75 instead, so a typo in a list file defers the mail
 * until it is fixed rather than bouncing every post. The shipped MTA examples use it.
 *
 * Without --list the list is found by the envelope recipient: --recipient, else
 * ORIGINAL_RECIPIENT, RECIPIENT, or LOCAL@DOMAIN as Postfix's local(8) and procmail set
 * them; without any of those, by the addresses in To/Cc. `--list` may name an address
 * (`red-request@…`): that address is then the envelope recipient. Whenever a recipient is
 * known, it alone says what the mail is for (post, request, bounce, owner).
 *
 * The envelope sender (`--sender`, else SENDER) tells a bounce by its null sender (<>).
 * The SMTP envelope, for SPF: `--sender`, `--client-address`, `--client-helo` (Postfix
 * pipe(8): `--sender=${sender} --client-address=${client_address}
 * --client-helo=${client_helo}`), else SENDER, CLIENT_ADDRESS and CLIENT_HELO as Postfix's
 * local(8) exports them (aliases, procmail under local).
 *
 * A storage error (EACCES, ENOSPC, EROFS, …) while handling the mail exits 75: the MTA
 * keeps the mail and tries again once the disk or its permissions are fixed.
 */
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import type { ListPlan, Plans } from '../config/build.ts';
import { openConfig, printProblems } from '../config/open.ts';
import { buildRuntime, isTemporary, type ListRuntime } from '../config/runtime.ts';
import { describeError } from '../errors.ts';
import createStdinFetcher from '../fetchers/stdin.ts';
import { addressRole } from '../list/roles.ts';
import { normalizeAddress } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import { type PlaySummary, play } from '../play.ts';
import type { Processor } from '../types.ts';
import createDeliveryLog from './delivery-log.ts';
import { EX } from './exit-codes.ts';

const USAGE =
  'usage: malist receive [--list NAME|ADDR] [--recipient ADDR] [--sender ADDR] [--client-address IP] [--client-helo NAME] [--config DIR] [--defer-config-errors] < message';
const MAX_SIZE = 50 * 1024 * 1024;

function fail(code: number, text: string): number {
  process.stderr.write(`malist receive: ${text}\n`);
  return code;
}

async function readInput(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > MAX_SIZE) throw new Error(`message larger than ${MAX_SIZE} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * The envelope sender the MTA passed (`--sender`, else SENDER as Postfix's local(8) and
 * pipe(8) set it), if any; '' is the null sender of bounces and notifications.
 */
export function envelopeSender(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const value = flag ?? env.SENDER;
  if (value === undefined) return undefined;
  return value.trim().replace(/^<(.*)>$/, '$1');
}

/** The envelope recipient the MTA passed, if any. */
export function envelopeRecipient(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (flag) return flag;
  if (env.ORIGINAL_RECIPIENT) return env.ORIGINAL_RECIPIENT;
  if (env.RECIPIENT) return env.RECIPIENT;
  if (env.LOCAL && env.DOMAIN) return `${env.LOCAL}@${env.DOMAIN}`;
  return undefined;
}

/** The SMTP envelope the MTA passed: the sender and the connecting client, when known. */
export function envelopeClient(
  flags: { sender?: string; 'client-address'?: string; 'client-helo'?: string },
  env: NodeJS.ProcessEnv,
): { sender?: string; client?: { ip: string; helo?: string } } {
  const sender = flags.sender ?? env.SENDER;
  const ip = (flags['client-address'] ?? env.CLIENT_ADDRESS ?? '').trim();
  const helo = (flags['client-helo'] ?? env.CLIENT_HELO ?? '').trim();
  // Postfix writes "unknown" for what it does not know.
  const known = (v: string) => v !== '' && v.toLowerCase() !== 'unknown';
  return {
    ...(sender !== undefined ? { sender: sender.replace(/^<|>$/g, '') } : {}),
    ...(known(ip) && isIP(ip) ? { client: { ip, ...(known(helo) ? { helo } : {}) } } : {}),
  };
}

/**
 * The list a recipient means: one of its addresses (posting, LIST-request@, LIST-join@,
 * LIST-bounces+…@, …); else one whose local part (or short name) is the recipient's local
 * part without a +extension (an alias on another domain).
 */
export function listForRecipient(lists: ListPlan[], recipient: string): ListPlan | undefined {
  const normal = normalizeAddress(recipient) || recipient.toLowerCase();
  const exact = lists.find((l) => addressRole(l.list.settings, normal) !== undefined);
  if (exact) return exact;
  const local = normal.split('@')[0]!.split('+')[0]!;
  const byLocal = lists.filter(
    (l) =>
      l.list.settings.address.toLowerCase().split('@')[0] === local ||
      l.list.name.toLowerCase() === local,
  );
  return byLocal.length === 1 ? byLocal[0] : undefined;
}

function pickList(plans: Plans, name: string): ListPlan | undefined {
  return (
    plans.lists.find((l) => l.list.name === name) ??
    (name.includes('@') ? listForRecipient(plans.lists, name) : undefined)
  );
}

export default async function receive(argv: string[]): Promise<number> {
  let values: {
    list?: string;
    recipient?: string;
    sender?: string;
    'client-address'?: string;
    'client-helo'?: string;
    config?: string;
    help?: boolean;
    'defer-config-errors'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        list: { type: 'string', short: 'l' },
        recipient: { type: 'string', short: 'r' },
        sender: { type: 'string', short: 'f' },
        'client-address': { type: 'string' },
        'client-helo': { type: 'string' },
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        'defer-config-errors': { type: 'boolean' },
      },
    }));
  } catch (error) {
    return fail(EX.USAGE, `${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EX.OK;
  }
  try {
    const code = await receiveOne(values);
    return code === EX.CONFIG && values['defer-config-errors'] ? EX.TEMPFAIL : code;
  } catch (error) {
    // Anything unforeseen: the MTA keeps the mail and tries again; nothing is lost.
    return fail(EX.TEMPFAIL, `temporary failure, the MTA keeps the mail: ${describeError(error)}`);
  }
}

async function receiveOne(values: {
  list?: string;
  recipient?: string;
  sender?: string;
  'client-address'?: string;
  'client-helo'?: string;
  config?: string;
}): Promise<number> {
  const { config, plans } = await openConfig(values.config ? { dir: values.config } : {});
  if (config.problems.length > 0 || !config.main) {
    printProblems(config, process.stderr);
    return fail(EX.CONFIG, 'configuration error; the mail was not accepted (run malist check)');
  }
  let target: ListPlan | undefined;
  // `--list red-bounces@…` names the address the MTA delivers to: routed by it alone.
  const recipient = values.list?.includes('@')
    ? values.list
    : envelopeRecipient(values.recipient, process.env);
  if (values.list) {
    const one = pickList(plans, values.list);
    if (!one)
      return fail(
        EX.NOUSER,
        `unknown list '${values.list}'; lists here: ${plans.lists.map((l) => l.list.name).join(', ') || '(none)'}`,
      );
    target = one;
  } else if (recipient) {
    target = listForRecipient(plans.lists, recipient);
    if (!target) return fail(EX.NOUSER, `no list has the address ${recipient}`);
  }
  const sender = envelopeSender(values.sender, process.env);
  let raw: Buffer;
  try {
    raw = await readInput();
  } catch (error) {
    return fail(EX.DATAERR, describeError(error));
  }
  if (raw.length === 0) return fail(EX.DATAERR, 'standard input was empty: no message');
  let runtime: ListRuntime;
  try {
    runtime = await buildRuntime(config, plans);
  } catch (error) {
    if (isTemporary(error))
      return fail(
        EX.TEMPFAIL,
        `${describeError(error)}; temporary failure, the MTA keeps the mail and retries`,
      );
    return fail(EX.CONFIG, describeError(error));
  }
  let processor: Processor;
  if (target) {
    // The MTA said which list: its request, bounce and owner addresses route to their
    // handlers (by the envelope recipient alone when there is one), anything else (an
    // alias, a Bcc) is a post to it.
    const one = runtime.lists.find((l) => l.list.name === target.list.name)!;
    processor = runtime.processor([one], one);
  } else {
    const mail = createListMail(raw, { fetcher: 'stdin', id: 'stdin', sender });
    if (runtime.routes(mail).length === 0) {
      await runtime.close();
      return fail(
        EX.NOUSER,
        'no --list, no envelope recipient, and the message names none of the lists in To/Cc',
      );
    }
    processor = runtime.processor();
  }
  const log = config.main.delivery_log
    ? createDeliveryLog({ file: config.main.delivery_log })
    : undefined;
  let summary: PlaySummary;
  try {
    summary = await play({
      fetcher: createStdinFetcher({
        input: Readable.from([raw]),
        ...(recipient ? { recipient } : {}),
        ...envelopeClient(values, process.env),
        ...(sender !== undefined ? { sender } : {}),
        maxMailSize: MAX_SIZE,
      }),
      processor,
      // One call per list (or recipient) for a cross-post: each is its own delivery.
      ...(values.list && target ? { scope: `list:${target.list.name}` } : {}),
      distributor: runtime.distributors,
      reactor: runtime.reactors,
      stateDir: config.main.state_dir,
      onOutcome: (event) => log?.record(event),
    });
  } finally {
    await runtime.close();
  }
  await log?.flush().catch((error: unknown) => {
    process.stderr.write(`malist receive: delivery log: ${describeError(error)}\n`);
  });
  if (summary.fetchError)
    return fail(EX.TEMPFAIL, `could not read the message: ${describeError(summary.fetchError)}`);
  if (summary.failed > 0 || summary.deferred > 0)
    return fail(
      EX.TEMPFAIL,
      'temporary failure (see the errors above); the MTA keeps the mail and retries — already delivered recipients are not sent it again',
    );
  if (summary.quarantined > 0)
    process.stderr.write(
      'malist receive: a processor failed on this mail; it is quarantined in the state directory for the operator\n',
    );
  return EX.OK;
}
