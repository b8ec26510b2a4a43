/**
 * Where an installation keeps what bounces leave behind, behind one interface with two
 * backends: the files under `state_dir` (the default: `bounces/LIST.json`, `bounces/sent/`,
 * `complaints/LIST.json`), or PostgreSQL rows (`storage: {type: postgres}`, pg-store.ts)
 * that every host sharing the database reads and changes.
 *
 * Three parts, each per list:
 * - the bounce records (scores, probes, the member's last bounce): `BounceStore`;
 * - the sent index (which Message-IDs went to which members lately): `SentLog`;
 * - the complaint record (spam complaints per day, the event ids counted): `ComplaintStore`.
 *
 * Every change is atomic across processes on both backends: the files under a file lock,
 * the rows under a row lock or in one statement (pg-store.ts says which).
 */
import type { Complaint, ComplaintRecord } from './complaints.ts';
import { ComplaintState } from './complaints.ts';
import type { BounceRecord } from './score.ts';
import { SentIndex } from './sent-index.ts';
import { type BounceRecords, BounceState } from './state.ts';

export type { BounceRecords };

/** A list's bounce records, by normal address. */
export interface BounceStore {
  readonly list: string;
  all(): Promise<BounceRecords>;
  get(address: string): Promise<BounceRecord | undefined>;
  /**
   * Changes the record of `address` with `edit` (which may return undefined to drop it),
   * atomically: two processes changing one member's record at once lose neither change
   * (`edit` is called once, with the record as it is under the lock).
   */
  change(
    address: string,
    edit: (record: BounceRecord | undefined) => BounceRecord | undefined,
  ): Promise<BounceRecord | undefined>;
}

/** One delivery report as the sent index keeps it: the UTC day, the hashes (sent-index.ts). */
export interface SentEntry {
  /** YYYY-MM-DD. */
  day: string;
  /** The Message-ID's hash. */
  id: string;
  /** The members' hashes. */
  members: string[];
}

/** The sent index of every list (sent-index.ts says what it proves). */
export interface SentLog {
  /** Days a delivery stays in the index. */
  readonly days: number;
  /** Records that `list` delivered `messageId` to `recipients` at `now`. */
  record(list: string, messageId: string, recipients: string[], now: number): Promise<void>;
  /** True when `list` delivered one of `messageIds` to `member` within `days` before `now`. */
  has(list: string, messageIds: string[], member: string, now: number): Promise<boolean>;
  /** How many member deliveries `list` recorded on the UTC day of `now`. */
  deliveredOn(list: string, now: number): Promise<number>;
  /** Every report kept for `list`, oldest day first (`malist storage migrate`). */
  entries(list: string): Promise<SentEntry[]>;
  /** Adds the reports of `entries` not kept yet; how many were added. */
  restore(list: string, entries: SentEntry[]): Promise<number>;
}

/** A list's complaint record (complaints.ts). */
export interface ComplaintStore {
  read(): Promise<ComplaintRecord>;
  /** Counts `c` once; false when its event was counted already. */
  add(c: Complaint, now: number): Promise<boolean>;
  /** Adds the complaints of `record` not counted yet (`malist storage migrate`); how many. */
  merge(record: ComplaintRecord): Promise<number>;
}

/** Everything bounce handling keeps, for every list of an installation. */
export interface BounceStorage {
  /** Where this lives, for messages (`files under …`, the database's URL without password). */
  readonly label: string;
  records(list: string): BounceStore;
  readonly sent: SentLog;
  complaints(list: string): ComplaintStore;
}

/** The files under `stateDir` (what malist has always written). */
export function fileBounceStorage(stateDir: string): BounceStorage {
  const sent = new SentIndex(stateDir);
  return {
    label: `files under ${stateDir}`,
    records: (list) => new BounceState(stateDir, list),
    sent,
    complaints: (list) => new ComplaintState(stateDir, list),
  };
}
