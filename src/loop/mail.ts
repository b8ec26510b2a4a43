/**
 * One fetched mail, from the journal check to the ack (DESIGN.md, "The loop and its
 * promises"): skipped if already handled, processed, each copy handled, recorded, acked.
 * A mail is acked only once it is handled or a durable copy of it exists.
 */
import {
  describeError,
  ErrorCode,
  isSignal,
  type Signal,
  StageError,
  storageErrorCode,
} from '../errors.ts';
import { messageId } from '../mail/list-mail.ts';
import { isFinal, type JournalOutcome, MAIL_SCOPE } from '../state/journal.ts';
import { crashPoint } from '../testing/crash-point.ts';
import type { Fetched, ListMail } from '../types.ts';
import { authRecord, handleCopy, handleSignal, postRecord } from './copy.ts';
import { asError, unitOf } from './report.ts';
import { DEFAULT_LIST, onFetcher, type Run, report, wholeKey } from './run.ts';
import { runProcessors } from './stages.ts';
import { countMail, pickOutcome } from './summary.ts';

/** Handles one mail; a journal or store failure leaves it at its source and the loop goes on. */
export async function handleFetched(run: Run, fetched: Fetched): Promise<void> {
  try {
    await handleMail(run, fetched);
  } catch (error) {
    run.summary.failed++;
    await report(run, {
      stage: 'processor',
      unit: unitOf(error, 'play'),
      error: asError(error),
      mail: fetched.mail,
    });
  }
}

/**
 * The mail under the journal's claim on its key: a worker that fetched the same post (the
 * same maildir copy, an MTA's retry) waits, then finds it handled and only acks it.
 */
async function handleMail(run: Run, fetched: Fetched): Promise<void> {
  const claim = await run.journal.claim(MAIL_SCOPE, wholeKey(run, fetched.mail));
  try {
    await handleClaimed(run, fetched);
  } finally {
    await claim.release();
  }
}

async function handleClaimed(run: Run, fetched: Fetched): Promise<void> {
  const { mail } = fetched;
  if (isFinal(await run.journal.get(MAIL_SCOPE, wholeKey(run, mail)))) {
    run.summary.skipped++;
    run.options.onOutcome?.({ mail, list: mail.ml_list_name ?? DEFAULT_LIST, outcome: 'skipped' });
    await ack(run, fetched);
    return;
  }
  const copies = await processMail(run, fetched);
  if (!copies) return;
  const outcomes: JournalOutcome[] = [];
  let allDone = true;
  for (const copy of copies) {
    const result = await handleCopy(run, copy, copies.length === 1);
    if (!result.done) allDone = false;
    if (result.outcome) outcomes.push(result.outcome);
  }
  if (!allDone) {
    run.summary.failed++;
    return;
  }
  await finish(run, fetched, pickOutcome(outcomes), copies);
}

/**
 * The mail's copies after the processors; undefined when the mail is already dealt with
 * (a signal for the whole mail, or a processor failure and the mail quarantined).
 */
async function processMail(run: Run, fetched: Fetched): Promise<ListMail[] | undefined> {
  const { mail } = fetched;
  try {
    return await runProcessors(run.processors, mail);
  } catch (error) {
    if (isSignal(error)) {
      const list = mail.ml_list_name ?? DEFAULT_LIST;
      const { outcome } = await handleSignal(run, mail, error, list, true);
      await finish(run, fetched, outcome, [mail], error);
      return undefined;
    }
    const storage = storageErrorCode(error);
    if (storage) {
      // A disk or permission problem, not a poison message: the mail stays at its source.
      run.summary.failed++;
      await report(run, {
        stage: 'processor',
        unit: unitOf(error, 'processor'),
        error: new StageError(
          `storage error (${storage}) while handling the mail: ${describeError(error)}; it stays at its source and is tried again`,
          {
            code: ErrorCode.STORAGE,
            unit: unitOf(error, 'processor'),
            messageId: messageId(mail),
            cause: error,
            temporary: true,
          },
        ),
        mail,
      });
      return undefined;
    }
    await report(run, {
      stage: 'processor',
      unit: unitOf(error, 'processor'),
      error: asError(error),
      mail,
    });
    await quarantineMail(run, fetched, error);
    return undefined;
  }
}

/**
 * Records the whole mail as handled (with its verification, its lists, where it came from
 * and, for a signal, why), counts it once, then acks it.
 */
async function finish(
  run: Run,
  fetched: Fetched,
  outcome: JournalOutcome,
  copies: ListMail[],
  wholeSignal?: Signal,
): Promise<void> {
  const verified = copies.find((c) => c.ml_auth);
  const lists = [...new Set(copies.flatMap((c) => (c.ml_list_name ? [c.ml_list_name] : [])))];
  const signal = wholeSignal ?? (copies.length === 1 ? copies[0]!.ml_signal : undefined);
  await run.journal.record(MAIL_SCOPE, wholeKey(run, fetched.mail), {
    outcome,
    messageId: messageId(fetched.mail),
    ...(lists.length > 0 ? { lists } : {}),
    ...postRecord(fetched.mail),
    ...(signal ? { reason: signal.reason, unit: signal.unit } : {}),
    ...(verified ? authRecord(verified) : {}),
  });
  countMail(run.summary, outcome);
  crashPoint('play.before-ack');
  await ack(run, fetched);
}

/** A mail no processor could handle: acked once a durable copy of it is in quarantine. */
async function quarantineMail(run: Run, fetched: Fetched, cause: unknown): Promise<void> {
  const { mail } = fetched;
  try {
    await run.quarantine.put(mail, {
      reason: describeError(cause),
      unit: unitOf(cause, 'processor'),
      // How it was handed over, so `malist quarantine release` can hand it over again.
      ...(run.options.scope ? { extra: { scope: run.options.scope } } : {}),
    });
  } catch (error) {
    run.summary.failed++;
    await report(run, {
      stage: 'processor',
      unit: 'quarantine',
      error: new StageError('could not quarantine the mail; it stays at its source', {
        code: 'ESTORAGE',
        unit: 'quarantine',
        messageId: messageId(mail),
        cause: error,
      }),
      mail,
    });
    return;
  }
  run.summary.quarantined++;
  const reason = describeError(cause);
  await run.journal.record(MAIL_SCOPE, wholeKey(run, mail), {
    outcome: 'quarantined',
    reason,
    messageId: messageId(mail),
    ...postRecord(mail),
  });
  run.options.onOutcome?.({ mail, list: DEFAULT_LIST, outcome: 'quarantined', reason });
  await ack(run, fetched);
}

async function ack(run: Run, fetched: Fetched): Promise<void> {
  try {
    await onFetcher(run, () => fetched.ack());
  } catch (error) {
    // The journal already says handled: the next run acks it without sending again.
    await report(run, {
      stage: 'fetcher',
      unit: run.options.fetcher.name,
      error: asError(error),
      mail: fetched.mail,
    });
  }
}
