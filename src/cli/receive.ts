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
 *
 * The handling itself (configuration, routing, the runtime, the play, the outcome) is
 * `intake.ts`, which `malist lmtp` shares: an LMTP recipient is answered with this exit
 * code's meaning.
 */
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { openCheckCache } from '../config/check-cache.ts';
import type { LoadOptions } from '../config/load.ts';
import { describeError } from '../errors.ts';
import { readStandardInput } from '../fetchers/stdin.ts';
import { EX } from './exit-codes.ts';
import {
  handleMail,
  isOutcome,
  MAX_SIZE,
  type Outcome,
  openIntake,
  routeMail,
  startIntake,
} from './intake.ts';

/** Set by the build in receive's own script (scripts/build.js): the code's identity. */
declare const __MALIST_BUILD__: string | undefined;

/**
 * The identity of the code that runs, when it is receive's built script: only that script
 * keeps parsed and checked files between mails (config/check-cache.ts). From the sources or
 * the command bundle, nothing is kept (an edited source would not change the key).
 */
const BUILD = typeof __MALIST_BUILD__ === 'string' ? __MALIST_BUILD__ : undefined;

const USAGE =
  'usage: malist receive [--list NAME|ADDR] [--recipient ADDR] [--sender ADDR] [--client-address IP] [--client-helo NAME] [--config DIR] [--defer-config-errors] < message';

function fail(code: number, text: string): number {
  process.stderr.write(`malist receive: ${text}\n`);
  return code;
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

function failWith(outcome: Outcome): number {
  return fail(outcome.code, outcome.text);
}

/** The lists a mail could be for, from `--list` and the recipient; undefined: all of them. */
function onlyFor(by: { list?: string; recipient?: string }): LoadOptions['only'] {
  if (by.list && !by.list.includes('@')) return { name: by.list };
  const recipient = by.list ?? by.recipient;
  return recipient ? { recipient } : undefined;
}

/** One mail on standard input through the intake (intake.ts), the exit code its outcome. */
async function receiveOne(values: {
  list?: string;
  recipient?: string;
  sender?: string;
  'client-address'?: string;
  'client-helo'?: string;
  config?: string;
}): Promise<number> {
  const report = (line: string) => process.stderr.write(`${line}\n`);
  const recipient = envelopeRecipient(values.recipient, process.env);
  const by = { ...(values.list ? { list: values.list } : {}), ...(recipient ? { recipient } : {}) };
  // The list the envelope names is read alone (with the lists whose address could be the
  // recipient's): a process per mail then reads one list, not the site's every list. Found
  // none: every list is read, and routed as before (the same answer, the same message).
  const only = onlyFor(by);
  const cache = BUILD === undefined ? undefined : openCheckCache(BUILD);
  let opened = await openIntake(values.config, report, only, cache);
  if (isOutcome(opened)) return failWith(opened);
  let route = routeMail(opened.plans, by);
  if (isOutcome(route) && only) {
    opened = await openIntake(values.config, report, undefined, cache);
    if (isOutcome(opened)) return failWith(opened);
    route = routeMail(opened.plans, by);
  }
  if (isOutcome(route)) return failWith(route);
  let raw: Buffer;
  try {
    raw = await readStandardInput(MAX_SIZE);
  } catch (error) {
    return fail(EX.DATAERR, describeError(error));
  }
  if (raw.length === 0) return fail(EX.DATAERR, 'standard input was empty: no message');
  // A route with a target is handled by that list alone: only its runtime is built.
  const intake = await startIntake(opened, route.target);
  if (isOutcome(intake)) return failWith(intake);
  const { client } = envelopeClient(values, process.env);
  // The null sender <> of a bounce is '', kept.
  const sender = envelopeSender(values.sender, process.env);
  let outcome: Outcome;
  try {
    outcome = await handleMail(
      intake,
      route,
      { ...(client ? { client } : {}), ...(sender !== undefined ? { sender } : {}) },
      raw,
      {
        scoped: Boolean(values.list),
        warn: (text) => process.stderr.write(`malist receive: ${text}\n`),
      },
    );
  } finally {
    await intake.close();
  }
  return outcome.code === EX.OK ? EX.OK : failWith(outcome);
}
