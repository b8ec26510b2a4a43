/** What `play()` is given, and what it tells of each finished mail copy (`src/play.ts` exports both). */
import type { HeldStorage } from '../state/held-store.ts';
import type { Journal, JournalOutcome } from '../state/journal.ts';
import type {
  DeliveryReport,
  Distributor,
  Fetcher,
  ListMail,
  Processor,
  Reactor,
} from '../types.ts';

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
  /**
   * The journal of handled mail, shared by every worker (`storage:` in malist.yaml picks it).
   * @default the files in `stateDir/journal`
   */
  journal?: Journal;
  /**
   * Where held mail is stored (`storage:` in malist.yaml picks it).
   * @default the files in `stateDir/held/<list>/`
   */
  held?: HeldStorage;
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
