/**
 * One copy of a mail for one list (a cross-post has a copy per list): its signal, or its
 * distribution, the per-recipient truth of that distribution, and its journal record.
 */
import { describeError, type Signal, StageError } from '../errors.ts';
import { messageId } from '../mail/list-mail.ts';
import { errorCodeOf, replyText } from '../mail/smtp-reply.ts';
import { fileHeldStorage } from '../state/held-store.ts';
import { isFinal, type JournalOutcome } from '../state/journal.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { DeliveryReport, ListMail, RecipientResult } from '../types.ts';
import { asError, summarize, unitOf } from './report.ts';
import { DEFAULT_LIST, type Run, report } from './run.ts';
import { runDistributors } from './stages.ts';
import { countRecipient, listCounts } from './summary.ts';

/** The verification of the post, for its journal record (DESIGN: the journal keeps it). */
export function authRecord(mail: ListMail): { auth?: ListMail['ml_auth'] } {
  return mail.ml_auth ? { auth: mail.ml_auth } : {};
}

/**
 * What `malist trace` shows of a post beside its outcome: where it was fetched from, the
 * poster and the subject (short: the journal is not an archive).
 */
export function postRecord(mail: ListMail): { origin: string; from?: string; subject?: string } {
  const from = mail.header.getDecoded('From')?.slice(0, 200);
  const subject = mail.header.getDecoded('Subject')?.slice(0, 200);
  return {
    origin: (mail.origin.id === mail.origin.fetcher
      ? mail.origin.fetcher
      : `${mail.origin.fetcher}:${mail.origin.id}`
    ).slice(0, 300),
    ...(from ? { from } : {}),
    ...(subject ? { subject } : {}),
  };
}

/** `done`: the copy needs nothing more; `outcome`: what the journal says of it. */
export interface CopyResult {
  done: boolean;
  outcome?: JournalOutcome;
}

/**
 * Handles one copy. `only`: the mail's one copy, whose final outcome the whole-mail record
 * written next says (a per-list record would add two fsyncs and say nothing more: a crash
 * between the two leaves the same state as a crash before either).
 */
export async function handleCopy(run: Run, copy: ListMail, only: boolean): Promise<CopyResult> {
  const list = copy.ml_list_name ?? DEFAULT_LIST;
  const previous = await run.journal.get(list, copy.key);
  if (isFinal(previous)) return { done: true, outcome: previous!.outcome };
  if (copy.ml_signal) return handleSignal(run, copy, copy.ml_signal, list, only);

  const owed = new Set(previous?.done ?? []);
  const recipients = (copy.ml_send_to ?? []).filter((r) => !owed.has(r));
  copy.ml_send_to = recipients;
  const delivery = await distribute(run, copy, list, recipients);
  if (!delivery) return { done: false };
  crashPoint('play.after-distribute');
  const { done, deferred } = tally(run, list, [...owed], recipients, delivery);
  await reportRefused(run, copy, delivery);
  await reportQueued(run, copy, delivery);
  if (deferred.length > 0) return keepDeferred(run, copy, list, done, deferred, delivery);
  if (!only)
    await run.journal.record(list, copy.key, {
      outcome: 'distributed',
      done,
      messageId: messageId(copy),
      ...postRecord(copy),
      ...authRecord(copy),
    });
  listCounts(run.summary, list).distributed++;
  run.options.onOutcome?.({ mail: copy, list, outcome: 'distributed', report: delivery });
  return { done: true, outcome: 'distributed' };
}

/** A copy a processor signalled: held (stored durably first), rejected or discarded. */
export async function handleSignal(
  run: Run,
  copy: ListMail,
  signal: Signal,
  list: string,
  only: boolean,
): Promise<{ done: boolean; outcome: JournalOutcome }> {
  const outcome: JournalOutcome =
    signal.kind === 'hold' ? 'held' : signal.kind === 'reject' ? 'rejected' : 'discarded';
  if (signal.kind === 'hold') {
    // Durable before anything else: a held mail must survive the ack.
    const store = (run.options.held ?? fileHeldStorage(run.options.stateDir)).held(list);
    await store.put(copy, { reason: signal.reason, unit: signal.unit, list });
  }
  await report(run, { stage: 'processor', unit: signal.unit, error: signal, mail: copy });
  if (!only)
    await run.journal.record(list, copy.key, {
      outcome,
      reason: signal.reason,
      unit: signal.unit,
      messageId: messageId(copy),
      ...postRecord(copy),
      ...authRecord(copy),
    });
  listCounts(run.summary, list)[outcome as 'held' | 'rejected' | 'discarded']++;
  run.options.onOutcome?.({ mail: copy, list, outcome, reason: signal.reason });
  return { done: true, outcome };
}

/** The distributors' report for the recipients still owed; undefined when one failed (reported). */
async function distribute(
  run: Run,
  copy: ListMail,
  list: string,
  recipients: string[],
): Promise<DeliveryReport | undefined> {
  if (recipients.length === 0) return { results: [] };
  try {
    return await runDistributors(run.distributors, copy);
  } catch (error) {
    await report(run, {
      stage: 'distributor',
      unit: unitOf(error, 'distributor'),
      error: asError(error),
      mail: copy,
    });
    run.options.onOutcome?.({ mail: copy, list, outcome: 'failed', reason: describeError(error) });
    return undefined;
  }
}

/**
 * Sorts the recipients into done and deferred, and counts them. `done` starts with those an
 * earlier run delivered.
 */
function tally(
  run: Run,
  list: string,
  done: string[],
  recipients: string[],
  delivery: DeliveryReport,
): { done: string[]; deferred: RecipientResult[] } {
  const byRecipient = new Map<string, RecipientResult[]>();
  for (const result of delivery.results) {
    byRecipient.set(result.recipient, [...(byRecipient.get(result.recipient) ?? []), result]);
  }
  const deferred: RecipientResult[] = [];
  const counts = listCounts(run.summary, list);
  // Every recipient a distributor spoke of counts, also fixed ones (deliver-to).
  for (const recipient of new Set([...recipients, ...byRecipient.keys()])) {
    const results = byRecipient.get(recipient) ?? [];
    const waiting = results.filter((r) => r.status === 'deferred');
    // A distributor that said nothing of a recipient is treated as having delivered:
    // only an explicit `deferred` keeps the mail at its source.
    if (waiting.length > 0) deferred.push(...waiting);
    else done.push(recipient);
    if (results.some((r) => r.status === 'failed')) countRecipient(run.summary, counts, 'refused');
    else if (waiting.length === 0) countRecipient(run.summary, counts, 'recipients');
  }
  return { done, deferred };
}

/** The error a reactor is told for recipients of one distributor. */
function deliveryError(
  copy: ListMail,
  unit: string,
  message: string,
  about: RecipientResult,
  temporary?: boolean,
): StageError {
  return new StageError(message, {
    // A 550 is the recipient's (EENVELOPE), a 535 the login's (EAUTH), a 451 ECONNECTION.
    code: errorCodeOf(about.code, about.response),
    unit,
    messageId: messageId(copy),
    temporary,
  });
}

/** Each recipient refused for good (5xx) is reported on its own. */
async function reportRefused(run: Run, copy: ListMail, delivery: DeliveryReport): Promise<void> {
  for (const failed of delivery.results.filter((r) => r.status === 'failed')) {
    const why = replyText(failed.code, failed.response) || 'no reason given';
    await report(run, {
      stage: 'distributor',
      unit: failed.distributor,
      error: deliveryError(copy, failed.distributor, `${failed.recipient} refused: ${why}`, failed),
      mail: copy,
    });
  }
}

/**
 * Recipients a durable queue took over after a temporary failure (4xx, server down, TLS):
 * handled, but the operator must see why they are not delivered yet.
 */
async function reportQueued(run: Run, copy: ListMail, delivery: DeliveryReport): Promise<void> {
  const waiting = delivery.results.filter(
    (r) => r.status === 'queued' && (r.code !== undefined || r.response),
  );
  if (waiting.length === 0) return;
  const unit = waiting[0]!.distributor;
  const message = `${waiting.length} recipient(s) queued for a later try: ${summarize(waiting)}`;
  await report(run, {
    stage: 'distributor',
    unit,
    error: deliveryError(copy, unit, message, waiting[0]!, true),
    mail: copy,
  });
}

/** Records what was delivered; the copy stays at its source for the deferred recipients. */
async function keepDeferred(
  run: Run,
  copy: ListMail,
  list: string,
  done: string[],
  deferred: RecipientResult[],
  delivery: DeliveryReport,
): Promise<CopyResult> {
  run.summary.deferred += new Set(deferred.map((d) => d.recipient)).size;
  await run.journal.record(list, copy.key, {
    outcome: 'partial',
    done,
    messageId: messageId(copy),
    ...authRecord(copy),
  });
  const unit = deferred[0]!.distributor;
  const message = `${deferred.length} recipient(s) deferred, kept for the next run: ${summarize(deferred)}`;
  await report(run, {
    stage: 'distributor',
    unit,
    error: deliveryError(copy, unit, message, deferred[0]!, true),
    mail: copy,
  });
  run.options.onOutcome?.({ mail: copy, list, outcome: 'partial', report: delivery });
  return { done: false };
}
