/** What a run did, counted as it goes: per fetched mail, per list, per recipient. */
import type { JournalOutcome } from '../state/journal.ts';

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

export function newSummary(): PlaySummary {
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

/** The counts of one list, started at zero the first time the list is seen. */
export function listCounts(summary: PlaySummary, list: string): ListCounts {
  summary.perList[list] ??= {
    distributed: 0,
    held: 0,
    rejected: 0,
    discarded: 0,
    recipients: 0,
    refused: 0,
  };
  return summary.perList[list];
}

/** Counts one recipient of a list: delivered or queued (`recipients`), or `refused`. */
export function countRecipient(
  summary: PlaySummary,
  counts: ListCounts,
  kind: 'recipients' | 'refused',
): void {
  counts[kind]++;
  summary[kind]++;
}

/** Counts a fetched mail once, whatever the number of lists it went to. */
export function countMail(summary: PlaySummary, outcome: JournalOutcome): void {
  if (outcome === 'distributed') summary.distributed++;
  else if (outcome === 'held' || outcome === 'rejected' || outcome === 'discarded')
    summary[outcome]++;
}

/** The outcome that speaks for a mail whose copies went to several lists. */
export function pickOutcome(outcomes: JournalOutcome[]): JournalOutcome {
  for (const o of ['distributed', 'held', 'rejected', 'discarded'] as const)
    if (outcomes.includes(o)) return o;
  return 'distributed';
}
