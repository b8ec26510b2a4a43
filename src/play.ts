/**
 * The loop (DESIGN.md, "The loop and its promises"): fetch → processors → distributors →
 * journal → ack. A mail is acked only once it is handled or a durable copy of it exists;
 * everything else stays at its source for the next run.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describeError, isSignal, NothingMore, type Signal, StageError } from './errors.ts';
import { normalizeAddress } from './mail/address.ts';
import { messageId } from './mail/list-mail.ts';
import { isFinal, Journal, type JournalOutcome, MAIL_SCOPE } from './state/journal.ts';
import { MailStore } from './state/mail-store.ts';
import { safeName } from './state/safe-name.ts';
import { crashPoint } from './testing/crash-point.ts';
import type {
  DeliveryReport,
  Distributor,
  Fetched,
  Fetcher,
  ListMail,
  Processor,
  Reactor,
  RecipientResult,
  StageFailure,
} from './types.ts';

export interface PlayOptions {
  fetcher: Fetcher;
  /** Run in order; each sees what the previous did. None: mail passes as fetched. */
  processor?: Processor | Processor[];
  /** All run for every mail (like `multiple`); their reports are merged. */
  distributor: Distributor | Distributor[];
  /** Every reactor sees every failure and signal. */
  reactor?: Reactor | Reactor[];
  /** Holds `journal/`, `quarantine/` and `held/<list>/`. */
  stateDir: string;
  /** Stops before the next fetch once aborted (the mail in hand is finished). */
  signal?: AbortSignal;
  /** Stops after this many fetched mails. */
  limit?: number;
  /**
   * Mails handled at once. Fetching and acks stay one at a time (a POP3 or IMAP session
   * is one command stream), and two mails with the same bytes never run at once; the
   * processing, journal and distribution of different mails overlap, so one post's fsyncs
   * and SMTP round trips do not wait for the previous post's. Units must then be safe to
   * call concurrently, as they already are across processes (`malist receive` runs once
   * per incoming mail). @default 1
   */
  concurrency?: number;
  /**
   * Namespaces the journal's whole-mail record. An MTA hands one cross-posted mail to
   * `malist receive --list NAME` once per list, with the same bytes: each call is its own
   * delivery. @default the envelope recipient the fetcher knows, else none
   */
  scope?: string;
  /** Told of every finished mail copy: progress output and delivery logs. */
  onOutcome?: (event: OutcomeEvent) => void;
}

export interface OutcomeEvent {
  mail: ListMail;
  list: string;
  outcome: JournalOutcome | 'skipped' | 'failed';
  report?: DeliveryReport;
  reason?: string;
}

export interface ListCounts {
  distributed: number;
  held: number;
  rejected: number;
  discarded: number;
  /** Recipients delivered or queued. */
  recipients: number;
  /** Recipients refused for good (5xx). */
  refused: number;
}

export interface PlaySummary {
  fetched: number;
  distributed: number;
  held: number;
  rejected: number;
  discarded: number;
  quarantined: number;
  /** Mails left at the source because a stage failed (tried again next run). */
  failed: number;
  /** Mails the journal had already handled (acked, not sent again). */
  skipped: number;
  /** Recipients delivered or queued, over all mails. */
  recipients: number;
  /** Recipients refused for good (5xx), over all mails. */
  refused: number;
  /** Recipients deferred (to be retried next run), over all mails. */
  deferred: number;
  /** The fetcher error that ended the run, if one did. */
  fetchError?: Error;
  perList: Record<string, ListCounts>;
}

const DEFAULT_LIST = '_default';

/** Mails `malist run` and `malist watch` handle at once unless malist.yaml sets `concurrency:`. */
export const RUN_CONCURRENCY = 4;

function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function newSummary(): PlaySummary {
  return {
    fetched: 0,
    distributed: 0,
    held: 0,
    rejected: 0,
    discarded: 0,
    quarantined: 0,
    failed: 0,
    skipped: 0,
    recipients: 0,
    refused: 0,
    deferred: 0,
    perList: {},
  };
}

/** Calls every reactor; one that throws is reported on stderr and hides nothing. */
export async function reportToReactors(reactors: Reactor[], failure: StageFailure): Promise<void> {
  for (const reactor of reactors) {
    try {
      await reactor.react(failure);
    } catch (error) {
      process.stderr.write(
        `malist: reactor ${reactor.name} failed while reporting ${failure.stage} ${failure.unit}: ${describeError(error)}\n`,
      );
    }
  }
}

/** Runs the processors in order over every copy; a copy that carries a signal passes through. */
async function runProcessors(processors: Processor[], mail: ListMail): Promise<ListMail[]> {
  let copies = [mail];
  for (const processor of processors) {
    const next: ListMail[] = [];
    for (const copy of copies) {
      if (copy.ml_signal) {
        next.push(copy);
        continue;
      }
      try {
        next.push(...asArray(await processor.process(copy)));
      } catch (error) {
        if (isSignal(error) && !error.unit) error.unit = processor.name;
        if (isSignal(error) || error instanceof StageError) throw error;
        throw new StageError(`unexpected error: ${describeError(error)}`, {
          code: 'EUNIT',
          unit: processor.name,
          messageId: messageId(copy),
          cause: error,
        });
      }
    }
    copies = next;
  }
  return copies;
}

/** Runs every distributor; merges their reports. A distributor that throws is rethrown after the others ran. */
async function runDistributors(
  distributors: Distributor[],
  mail: ListMail,
): Promise<DeliveryReport> {
  const results: RecipientResult[] = [];
  let firstError: unknown;
  for (const distributor of distributors) {
    try {
      results.push(...(await distributor.distribute(mail)).results);
    } catch (error) {
      firstError ??=
        error instanceof StageError
          ? error
          : new StageError(describeError(error), {
              code: 'EUNIT',
              unit: distributor.name,
              messageId: messageId(mail),
              cause: error,
            });
    }
  }
  if (firstError !== undefined) throw firstError;
  return { results };
}

/** Loops until the fetcher has nothing more; see DESIGN.md for each step's promise. */
export async function play(options: PlayOptions): Promise<PlaySummary> {
  const processors = asArray(options.processor);
  const distributors = asArray(options.distributor);
  const reactors = asArray(options.reactor);
  const journal = new Journal(join(options.stateDir, 'journal'));
  const quarantine = new MailStore(join(options.stateDir, 'quarantine'));
  const summary = newSummary();
  const seen = new Set<string>();
  const counts = (list: string): ListCounts => {
    summary.perList[list] ??= {
      distributed: 0,
      held: 0,
      rejected: 0,
      discarded: 0,
      recipients: 0,
      refused: 0,
    };
    return summary.perList[list];
  };
  const report = (failure: StageFailure) => reportToReactors(reactors, failure);
  /** The whole-mail journal key: the bytes, and the delivery they came with. */
  const wholeKey = (mail: ListMail): string => {
    const scope =
      options.scope ??
      (mail.origin.recipient
        ? `rcpt:${normalizeAddress(mail.origin.recipient) || mail.origin.recipient}`
        : '');
    return scope
      ? `${mail.key}-${createHash('sha256').update(scope).digest('hex').slice(0, 16)}`
      : mail.key;
  };

  /**
   * Handles one copy; true when it needs nothing more. `only`: the mail's one copy, whose
   * final outcome the whole-mail record written next says (a per-list record would add
   * two fsyncs and say nothing more: a crash between the two leaves the same state as a
   * crash before either).
   */
  async function handleCopy(
    copy: ListMail,
    only: boolean,
  ): Promise<{ done: boolean; outcome?: JournalOutcome }> {
    const list = copy.ml_list_name ?? DEFAULT_LIST;
    const previous = await journal.get(list, copy.key);
    if (isFinal(previous)) return { done: true, outcome: previous!.outcome };
    if (copy.ml_signal) return handleSignal(copy, copy.ml_signal, list, only);

    const owed = new Set(previous?.done ?? []);
    const recipients = (copy.ml_send_to ?? []).filter((r) => !owed.has(r));
    copy.ml_send_to = recipients;
    let delivery: DeliveryReport = { results: [] };
    if (recipients.length > 0) {
      try {
        delivery = await runDistributors(distributors, copy);
      } catch (error) {
        await report({
          stage: 'distributor',
          unit: unitOf(error, 'distributor'),
          error: asError(error),
          mail: copy,
        });
        options.onOutcome?.({ mail: copy, list, outcome: 'failed', reason: describeError(error) });
        return { done: false };
      }
    }
    crashPoint('play.after-distribute');
    const byRecipient = new Map<string, RecipientResult[]>();
    for (const result of delivery.results) {
      byRecipient.set(result.recipient, [...(byRecipient.get(result.recipient) ?? []), result]);
    }
    const done = [...owed];
    const deferred: RecipientResult[] = [];
    const c = counts(list);
    // Every recipient a distributor spoke of counts, also fixed ones (deliver-to).
    for (const recipient of new Set([...recipients, ...byRecipient.keys()])) {
      const results = byRecipient.get(recipient) ?? [];
      const waiting = results.filter((r) => r.status === 'deferred');
      // A distributor that said nothing of a recipient is treated as having delivered:
      // only an explicit `deferred` keeps the mail at its source.
      if (waiting.length > 0) deferred.push(...waiting);
      else done.push(recipient);
      if (results.some((r) => r.status === 'failed')) {
        c.refused++;
        summary.refused++;
      } else if (waiting.length === 0) {
        c.recipients++;
        summary.recipients++;
      }
    }
    for (const failed of delivery.results.filter((r) => r.status === 'failed')) {
      await report({
        stage: 'distributor',
        unit: failed.distributor,
        error: new StageError(
          `${failed.recipient} refused: ${failed.response ?? failed.code ?? 'no reason given'}`,
          {
            code: 'ECONNECTION',
            unit: failed.distributor,
            messageId: messageId(copy),
          },
        ),
        mail: copy,
      });
    }
    // Recipients a durable queue took over after a temporary failure (4xx, server down,
    // TLS): handled, but the operator must see why they are not delivered yet.
    const waitingInQueue = delivery.results.filter(
      (r) => r.status === 'queued' && (r.code !== undefined || r.response),
    );
    if (waitingInQueue.length > 0) {
      await report({
        stage: 'distributor',
        unit: waitingInQueue[0]!.distributor,
        error: new StageError(
          `${waitingInQueue.length} recipient(s) queued for a later try: ${summarize(waitingInQueue)}`,
          {
            code: 'ECONNECTION',
            unit: waitingInQueue[0]!.distributor,
            messageId: messageId(copy),
            temporary: true,
          },
        ),
        mail: copy,
      });
    }
    if (deferred.length > 0) {
      summary.deferred += new Set(deferred.map((d) => d.recipient)).size;
      await journal.record(list, copy.key, {
        outcome: 'partial',
        done,
        messageId: messageId(copy),
      });
      await report({
        stage: 'distributor',
        unit: deferred[0]!.distributor,
        error: new StageError(
          `${deferred.length} recipient(s) deferred, kept for the next run: ${summarize(deferred)}`,
          {
            code: 'ECONNECTION',
            unit: deferred[0]!.distributor,
            messageId: messageId(copy),
            temporary: true,
          },
        ),
        mail: copy,
      });
      options.onOutcome?.({ mail: copy, list, outcome: 'partial', report: delivery });
      return { done: false };
    }
    if (!only)
      await journal.record(list, copy.key, {
        outcome: 'distributed',
        done,
        messageId: messageId(copy),
      });
    c.distributed++;
    options.onOutcome?.({ mail: copy, list, outcome: 'distributed', report: delivery });
    return { done: true, outcome: 'distributed' };
  }

  async function handleSignal(
    copy: ListMail,
    signal: Signal,
    list: string,
    only: boolean,
  ): Promise<{ done: boolean; outcome: JournalOutcome }> {
    const outcome: JournalOutcome =
      signal.kind === 'hold' ? 'held' : signal.kind === 'reject' ? 'rejected' : 'discarded';
    if (signal.kind === 'hold') {
      // Durable before anything else: a held mail must survive the ack.
      const store = new MailStore(join(options.stateDir, 'held', safeName(list)));
      await store.put(copy, { reason: signal.reason, unit: signal.unit, list });
    }
    await report({ stage: 'processor', unit: signal.unit, error: signal, mail: copy });
    if (!only)
      await journal.record(list, copy.key, {
        outcome,
        reason: signal.reason,
        messageId: messageId(copy),
      });
    counts(list)[outcome as 'held' | 'rejected' | 'discarded']++;
    options.onOutcome?.({ mail: copy, list, outcome, reason: signal.reason });
    return { done: true, outcome };
  }

  async function handleMail(fetched: Fetched): Promise<void> {
    const { mail } = fetched;
    if (isFinal(await journal.get(MAIL_SCOPE, wholeKey(mail)))) {
      summary.skipped++;
      options.onOutcome?.({ mail, list: mail.ml_list_name ?? DEFAULT_LIST, outcome: 'skipped' });
      await ack(fetched);
      return;
    }
    let copies: ListMail[];
    try {
      copies = await runProcessors(processors, mail);
    } catch (error) {
      if (isSignal(error)) {
        const { outcome } = await handleSignal(
          mail,
          error,
          mail.ml_list_name ?? DEFAULT_LIST,
          true,
        );
        await finish(fetched, outcome);
        return;
      }
      await report({
        stage: 'processor',
        unit: unitOf(error, 'processor'),
        error: asError(error),
        mail,
      });
      await quarantineMail(fetched, error);
      return;
    }
    const outcomes: JournalOutcome[] = [];
    let allDone = true;
    for (const copy of copies) {
      const result = await handleCopy(copy, copies.length === 1);
      if (!result.done) allDone = false;
      if (result.outcome) outcomes.push(result.outcome);
    }
    if (!allDone) {
      summary.failed++;
      return;
    }
    // Counted once per fetched mail, whatever the number of lists it went to.
    const outcome = pickOutcome(outcomes);
    await finish(fetched, outcome);
  }

  async function finish(fetched: Fetched, outcome: JournalOutcome): Promise<void> {
    await journal.record(MAIL_SCOPE, wholeKey(fetched.mail), {
      outcome,
      messageId: messageId(fetched.mail),
    });
    if (outcome === 'distributed') summary.distributed++;
    else if (outcome === 'held' || outcome === 'rejected' || outcome === 'discarded')
      summary[outcome]++;
    crashPoint('play.before-ack');
    await ack(fetched);
  }

  async function quarantineMail(fetched: Fetched, cause: unknown): Promise<void> {
    try {
      await quarantine.put(fetched.mail, {
        reason: describeError(cause),
        unit: unitOf(cause, 'processor'),
      });
    } catch (error) {
      summary.failed++;
      await report({
        stage: 'processor',
        unit: 'quarantine',
        error: new StageError('could not quarantine the mail; it stays at its source', {
          code: 'ESTORAGE',
          unit: 'quarantine',
          messageId: messageId(fetched.mail),
          cause: error,
        }),
        mail: fetched.mail,
      });
      return;
    }
    summary.quarantined++;
    await journal.record(MAIL_SCOPE, wholeKey(fetched.mail), {
      outcome: 'quarantined',
      reason: describeError(cause),
      messageId: messageId(fetched.mail),
    });
    options.onOutcome?.({
      mail: fetched.mail,
      list: DEFAULT_LIST,
      outcome: 'quarantined',
      reason: describeError(cause),
    });
    await ack(fetched);
  }

  async function ack(fetched: Fetched): Promise<void> {
    try {
      await onFetcher(() => fetched.ack());
    } catch (error) {
      // The journal already says handled: the next run acks it without sending again.
      await report({
        stage: 'fetcher',
        unit: options.fetcher.name,
        error: asError(error),
        mail: fetched.mail,
      });
    }
  }

  // The fetcher's session is one command stream: fetch() and ack() never overlap.
  let fetcherTurn: Promise<unknown> = Promise.resolve();
  function onFetcher<T>(fn: () => Promise<T>): Promise<T> {
    const turn = fetcherTurn.then(fn, fn);
    fetcherTurn = turn.catch(() => {});
    return turn;
  }
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const inFlight = new Set<Promise<void>>();
  /** The last task per mail key: a mail with the same bytes waits for it (the journal decides). */
  const byKey = new Map<string, Promise<void>>();

  async function handleFetched(fetched: Fetched): Promise<void> {
    try {
      await handleMail(fetched);
    } catch (error) {
      // A journal or store failure: the mail stays at its source; the loop goes on.
      summary.failed++;
      await report({
        stage: 'processor',
        unit: unitOf(error, 'play'),
        error: asError(error),
        mail: fetched.mail,
      });
    }
  }

  try {
    while (
      !options.signal?.aborted &&
      (options.limit === undefined || summary.fetched < options.limit)
    ) {
      if (inFlight.size >= concurrency) {
        await Promise.race(inFlight);
        continue;
      }
      let fetched: Fetched;
      try {
        fetched = await onFetcher(() => options.fetcher.fetch());
      } catch (error) {
        if (error instanceof NothingMore) break;
        summary.fetchError = asError(error);
        await report({
          stage: 'fetcher',
          unit: unitOf(error, options.fetcher.name),
          error: summary.fetchError,
        });
        break;
      }
      const id = `${fetched.mail.origin.fetcher}:${fetched.mail.origin.id}`;
      if (seen.has(id)) {
        // A fetcher that hands the same mail out twice would loop for ever: end the run.
        summary.fetchError = new StageError(`returned ${id} twice in one session`, {
          code: 'EPROTOCOL',
          unit: options.fetcher.name,
        });
        await report({ stage: 'fetcher', unit: options.fetcher.name, error: summary.fetchError });
        break;
      }
      seen.add(id);
      summary.fetched++;
      crashPoint('play.after-fetch');
      const key = fetched.mail.key;
      const task: Promise<void> = (byKey.get(key) ?? Promise.resolve())
        .then(() => handleFetched(fetched))
        .finally(() => {
          inFlight.delete(task);
          if (byKey.get(key) === task) byKey.delete(key);
        });
      inFlight.add(task);
      byKey.set(key, task);
    }
  } finally {
    // The mails in hand are finished (and acked) before the session ends.
    await Promise.allSettled([...inFlight]);
    await options.fetcher.close().catch(async (error: unknown) => {
      await report({ stage: 'fetcher', unit: options.fetcher.name, error: asError(error) });
    });
    for (const distributor of distributors) await distributor.close?.().catch(() => {});
  }
  return summary;
}

/** "a@x (451 try later), b@y (…)" for the first few recipients. */
function summarize(results: RecipientResult[]): string {
  const shown = results
    .slice(0, 5)
    .map(
      (r) =>
        `${r.recipient} (${[r.code, r.response].filter((x) => x !== undefined && x !== '').join(' ') || 'temporary failure'})`,
    );
  return results.length > 5
    ? `${shown.join(', ')} and ${results.length - 5} more`
    : shown.join(', ');
}

function pickOutcome(outcomes: JournalOutcome[]): JournalOutcome {
  for (const o of ['distributed', 'held', 'rejected', 'discarded'] as const)
    if (outcomes.includes(o)) return o;
  return 'distributed';
}

function unitOf(error: unknown, fallback: string): string {
  return error instanceof StageError ? error.unit : fallback;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(describeError(error));
}
