/**
 * One run of the loop: what every step reads and changes (the units, the journal, the
 * summary), and the few things they all do with it (report, key a mail, take the
 * fetcher's turn). Each step is a plain function over a `Run`.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { FileJournal, type Journal } from '../state/journal.ts';
import { MailStore } from '../state/mail-store.ts';
import type { Distributor, ListMail, Processor, Reactor, StageFailure } from '../types.ts';
import type { PlayOptions } from './options.ts';
import { asError, reportToReactors } from './report.ts';
import { asArray } from './stages.ts';
import { newSummary, type PlaySummary } from './summary.ts';

/** The list a mail counts under when no processor named one. */
export const DEFAULT_LIST = '_default';

export interface Run {
  readonly options: PlayOptions;
  readonly processors: Processor[];
  readonly distributors: Distributor[];
  readonly reactors: Reactor[];
  readonly journal: Journal;
  readonly quarantine: MailStore;
  readonly summary: PlaySummary;
  /** The origins fetched so far: a fetcher that hands one out twice would loop for ever. */
  readonly seen: Set<string>;
  /** The fetcher's session is one command stream: fetch() and ack() never overlap. */
  fetcherTurn: Promise<unknown>;
}

export function createRun(options: PlayOptions): Run {
  return {
    options,
    processors: asArray(options.processor),
    distributors: asArray(options.distributor),
    reactors: asArray(options.reactor),
    journal: options.journal ?? new FileJournal(join(options.stateDir, 'journal')),
    quarantine: new MailStore(join(options.stateDir, 'quarantine')),
    summary: newSummary(),
    seen: new Set(),
    fetcherTurn: Promise.resolve(),
  };
}

export function report(run: Run, failure: StageFailure): Promise<void> {
  return reportToReactors(run.reactors, failure);
}

/** The whole-mail journal key: the bytes, and the delivery they came with. */
export function wholeKey(run: Run, mail: ListMail): string {
  const scope =
    run.options.scope ??
    (mail.origin.recipient
      ? `rcpt:${normalizeAddress(mail.origin.recipient) || mail.origin.recipient}`
      : '');
  return scope
    ? `${mail.key}-${createHash('sha256').update(scope).digest('hex').slice(0, 16)}`
    : mail.key;
}

/** Runs `fn` once the fetcher's previous command (fetch or ack) has settled. */
export function onFetcher<T>(run: Run, fn: () => Promise<T>): Promise<T> {
  const turn = run.fetcherTurn.then(fn, fn);
  run.fetcherTurn = turn.catch(() => {});
  return turn;
}

/** Ends the fetcher's session (a failure is reported) and the distributors' connections. */
export async function closeUnits(run: Run): Promise<void> {
  const { fetcher } = run.options;
  await fetcher.close().catch(async (error: unknown) => {
    await report(run, { stage: 'fetcher', unit: fetcher.name, error: asError(error) });
  });
  for (const distributor of run.distributors) await distributor.close?.().catch(() => {});
}
