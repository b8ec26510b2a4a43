/**
 * The one path a mail the MTA hands over takes, shared by `malist receive` (one mail on
 * standard input, a process per mail) and `malist lmtp` (many mails over LMTP, one process):
 * the configuration is opened and checked, the list is found by the envelope, the runtime is
 * built, the mail is played, and the result is an outcome in sysexits terms. `receive` exits
 * with the outcome's code; `lmtp` turns it into the recipient's LMTP reply (`lmtpReply`).
 *
 * The runtime is built once and serves many mails (`lmtp` keeps it until the configuration
 * changes), so nothing here closes it but `Intake.close()`.
 */
import type { ListPlan, Plans } from '../config/build.ts';
import type { CheckCache } from '../config/check-cache.ts';
import type { LoadedConfig, LoadOptions } from '../config/load.ts';
import { openConfig } from '../config/open.ts';
import { formatProblem } from '../config/problem.ts';
import { buildRuntime, isTemporary, type ListRuntime } from '../config/runtime.ts';
import { describeError } from '../errors.ts';
import createStdinFetcher from '../fetchers/stdin.ts';
import { addressRole } from '../list/roles.ts';
import { normalizeAddress } from '../mail/address.ts';
import { createListMail } from '../mail/list-mail.ts';
import { type PlaySummary, play } from '../play.ts';
import type { Processor } from '../types.ts';
import createDeliveryLog, { type DeliveryLog } from './delivery-log.ts';
import { EX } from './exit-codes.ts';

/** The largest mail taken (receive's standard input, an LMTP DATA). */
export const MAX_SIZE = 50 * 1024 * 1024;

/** What became of a mail (or of opening the configuration): a sysexits code and why. */
export interface Outcome {
  code: number;
  /** One line for the operator (receive's stderr) and the MTA (the LMTP reply's text). */
  text: string;
}

/** A checked configuration: what routing needs, before any state is touched. */
export interface Opened {
  config: LoadedConfig & { main: NonNullable<LoadedConfig['main']> };
  plans: Plans;
}

/** An opened configuration with its runtime built: ready to handle mail. */
export interface Intake extends Opened {
  runtime: ListRuntime;
  log: DeliveryLog | undefined;
  /** Closes the runtime (the queue's connections, the archive index, the signers). */
  close(): Promise<void>;
}

/** Where a mail goes: the list the MTA named (if any) and the envelope recipient. */
export interface Route {
  target?: ListPlan;
  recipient?: string;
}

/** The envelope as the MTA gave it. */
export interface Envelope {
  /** The envelope sender; '' is the null sender of bounces. */
  sender?: string;
  /** The SMTP client the MTA took the mail from (SPF). */
  client?: { ip: string; helo?: string };
}

/** Whether `value` is an outcome (a failure to open, build or route) rather than a result. */
export function isOutcome(value: object): value is Outcome {
  return 'code' in value && 'text' in value;
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

/**
 * Opens and checks the configuration in `dir`; every problem is handed to `report`, one a line.
 * A configuration error is EX.CONFIG: the caller decides whether the MTA should defer.
 * `only`: the lists read (load.ts, LoadOptions.only); every list without it. `cache`: the
 * parsed and checked files kept from an earlier mail (config/check-cache.ts).
 */
export async function openIntake(
  dir: string | undefined,
  report: (line: string) => void,
  only?: LoadOptions['only'],
  cache?: CheckCache,
): Promise<Opened | Outcome> {
  const { config, plans } = await openConfig({
    ...(dir ? { dir } : {}),
    ...(only ? { only } : {}),
    ...(cache ? { cache } : {}),
  });
  if (config.problems.length > 0 || !config.main) {
    for (const problem of config.problems) report(formatProblem(problem));
    return {
      code: EX.CONFIG,
      text: 'configuration error; the mail was not accepted (run malist check)',
    };
  }
  return { config: config as Opened['config'], plans };
}

/**
 * The list a mail is for: `list` (a short name, or an address that is then the envelope
 * recipient) or the envelope `recipient`. Neither: no target, the mail is routed by To/Cc.
 */
export function routeMail(
  plans: Plans,
  by: { list?: string; recipient?: string },
): Route | Outcome {
  const recipient = by.list?.includes('@') ? by.list : by.recipient;
  if (by.list) {
    const target = pickList(plans, by.list);
    if (!target)
      return {
        code: EX.NOUSER,
        text: `unknown list '${by.list}'; lists here: ${plans.lists.map((l) => l.list.name).join(', ') || '(none)'}`,
      };
    return { target, ...(recipient ? { recipient } : {}) };
  }
  if (recipient) {
    const target = listForRecipient(plans.lists, recipient);
    if (!target) return { code: EX.NOUSER, text: `no list has the address ${recipient}` };
    return { target, recipient };
  }
  return {};
}

/**
 * Builds the runtime of an opened configuration. A state directory that cannot be used is
 * EX.TEMPFAIL (the MTA keeps the mail), anything else EX.CONFIG.
 *
 * `only`: the one list a mail is for (`receive` knows it from the envelope), whose runtime
 * alone is built — its pipeline, handlers, signer and VERP sender, not every list's (~5 ms
 * of CPU a list). Every list was still checked by `openIntake`. The mail is then handled by
 * that list alone, as `handleMail` does for a route with a target anyway; the queue sends
 * only this mail's entry. Without it (`lmtp`, a mail routed by To/Cc) every list is built.
 */
export async function startIntake(opened: Opened, only?: ListPlan): Promise<Intake | Outcome> {
  let runtime: ListRuntime;
  try {
    runtime = await buildRuntime(
      opened.config,
      only ? { ...opened.plans, lists: [only] } : opened.plans,
    );
  } catch (error) {
    if (isTemporary(error))
      return {
        code: EX.TEMPFAIL,
        text: `${describeError(error)}; temporary failure, the MTA keeps the mail and retries`,
      };
    return { code: EX.CONFIG, text: describeError(error) };
  }
  const file = opened.config.main.delivery_log;
  return {
    ...opened,
    runtime,
    log: file ? createDeliveryLog({ file }) : undefined,
    close: () => runtime.close(),
  };
}

/**
 * Plays one mail as the MTA handed it over, to `route`'s list (by To/Cc without one), and
 * says what became of it. Never throws: anything unforeseen is a temporary failure.
 * `scoped`: the MTA named the list (receive's `--list`), so each list of a cross-post is its
 * own delivery.
 */
export async function handleMail(
  intake: Intake,
  route: Route,
  envelope: Envelope,
  raw: Buffer,
  options: { scoped?: boolean; warn?: (text: string) => void } = {},
): Promise<Outcome> {
  if (raw.length === 0) return { code: EX.DATAERR, text: 'the input was empty: no message' };
  try {
    return await playOne(intake, route, envelope, raw, options);
  } catch (error) {
    // Anything unforeseen: the MTA keeps the mail and tries again; nothing is lost.
    return {
      code: EX.TEMPFAIL,
      text: `temporary failure, the MTA keeps the mail: ${describeError(error)}`,
    };
  }
}

function processorFor(intake: Intake, route: Route, raw: Buffer, sender?: string) {
  const { runtime } = intake;
  if (route.target) {
    // The MTA said which list: its request, bounce and owner addresses route to their
    // handlers (by the envelope recipient alone when there is one), anything else (an
    // alias, a Bcc) is a post to it.
    const one = runtime.lists.find((l) => l.list.name === route.target!.list.name)!;
    return runtime.processor([one], one);
  }
  const mail = createListMail(raw, { fetcher: 'stdin', id: 'stdin', sender });
  return runtime.routes(mail).length === 0 ? undefined : runtime.processor();
}

async function playOne(
  intake: Intake,
  route: Route,
  envelope: Envelope,
  raw: Buffer,
  options: { scoped?: boolean; warn?: (text: string) => void },
): Promise<Outcome> {
  const { runtime, log } = intake;
  const processor: Processor | undefined = processorFor(intake, route, raw, envelope.sender);
  if (!processor)
    return {
      code: EX.NOUSER,
      text: 'no --list, no envelope recipient, and the message names none of the lists in To/Cc',
    };
  const summary: PlaySummary = await play({
    fetcher: createStdinFetcher({
      raw,
      ...(route.recipient ? { recipient: route.recipient } : {}),
      ...(envelope.client ? { client: envelope.client } : {}),
      ...(envelope.sender !== undefined ? { sender: envelope.sender } : {}),
      maxMailSize: MAX_SIZE,
    }),
    processor,
    // One call per list (or recipient) for a cross-post: each is its own delivery.
    ...(options.scoped && route.target ? { scope: `list:${route.target.list.name}` } : {}),
    distributor: runtime.distributors,
    reactor: runtime.reactors,
    stateDir: intake.config.main.state_dir,
    journal: runtime.journal,
    ...(runtime.moderation.storage ? { held: runtime.moderation.storage } : {}),
    onOutcome: (event) => log?.record(event),
  });
  await log?.flush().catch((error: unknown) => {
    options.warn?.(`delivery log: ${describeError(error)}`);
  });
  return outcomeOf(summary, options.warn);
}

/** What a play of one mail means to the MTA. */
export function outcomeOf(summary: PlaySummary, warn?: (text: string) => void): Outcome {
  if (summary.fetchError)
    return {
      code: EX.TEMPFAIL,
      text: `could not read the message: ${describeError(summary.fetchError)}`,
    };
  if (summary.failed > 0 || summary.deferred > 0)
    return {
      code: EX.TEMPFAIL,
      text: "temporary failure (malist's errors on stderr say why); the MTA keeps the mail and retries — already delivered recipients are not sent it again",
    };
  if (summary.quarantined > 0)
    warn?.(
      'a processor failed on this mail; it is quarantined in the state directory for the operator',
    );
  return { code: EX.OK, text: 'handled' };
}
