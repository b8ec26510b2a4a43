/**
 * A list's spam complaints, as the sending services report them (feedback.ts): one JSON
 * file (`STATE/complaints/LIST.json`) changed under a file lock, with the complaints of
 * each UTC day, the last ones (who, when, the report's feedback type) and the event ids
 * already counted, so a replayed report is counted once. The day's rate is its complaints
 * over its member deliveries (the sent index): Gmail and Yahoo refuse bulk senders above
 * 0.3%, and want them under 0.1%.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { safeName } from '../state/safe-name.ts';
import type { ComplaintStore, SentLog } from './store.ts';

/** Event ids kept (replays older than these are counted again). */
export const SEEN_KEPT = 1000;
/** The latest complaints kept with their details. */
export const RECENT_KEPT = 50;
/** Days of counts kept. */
export const DAYS_KEPT = 90;

export interface ComplaintRecord {
  /** Complaints per UTC day (YYYY-MM-DD). */
  days: Record<string, number>;
  /** The latest complaints, newest last. */
  recent: Array<{ at: number; address: string; type?: string; service: string }>;
  /** Event ids counted already (replays are ignored). */
  seen: string[];
}

export interface Complaint {
  /** The service's event id. */
  id: string;
  address: string;
  service: string;
  /** The report's feedback type (abuse, fraud, not-spam …), when given. */
  type?: string;
}

/** A rate as a percentage with two decimals. */
export const percent = (rate: number) => `${(rate * 100).toFixed(2)}%`;

/** The record after one more complaint, or the same record when `c.id` was counted (pure). */
export function addComplaint(
  record: ComplaintRecord | undefined,
  c: Complaint,
  now: number,
): ComplaintRecord {
  const base: ComplaintRecord = record ?? { days: {}, recent: [], seen: [] };
  if (base.seen.includes(c.id)) return base;
  const day = isoDay(now);
  const oldest = isoDay(now - DAYS_KEPT * 86_400_000);
  const days = Object.fromEntries(Object.entries(base.days).filter(([d]) => d >= oldest));
  days[day] = (days[day] ?? 0) + 1;
  return {
    days,
    recent: [
      ...base.recent,
      {
        at: now,
        address: normalizeAddress(c.address),
        service: c.service,
        ...(c.type ? { type: c.type } : {}),
      },
    ].slice(-RECENT_KEPT),
    seen: [...base.seen, c.id].slice(-SEEN_KEPT),
  };
}

/** A day's complaint rate: complaints over member deliveries (0 when nothing was sent). */
export function complaintRate(complaints: number, delivered: number): number {
  if (complaints === 0) return 0;
  return delivered > 0 ? complaints / delivered : 1;
}

/**
 * `into` with the complaints of `from` it has not counted (pure; for `malist storage
 * migrate`): the event ids joined, each day's count the larger of the two (both may hold the
 * same events), the latest complaints joined by time.
 */
export function mergeComplaints(into: ComplaintRecord, from: ComplaintRecord): ComplaintRecord {
  const seen = new Set(into.seen);
  const fresh = from.seen.filter((id) => !seen.has(id));
  if (fresh.length === 0) return into;
  const days = { ...into.days };
  for (const [day, n] of Object.entries(from.days)) days[day] = Math.max(days[day] ?? 0, n);
  const same = (a: ComplaintRecord['recent'][number], b: ComplaintRecord['recent'][number]) =>
    a.at === b.at && a.address === b.address && a.service === b.service;
  const recent = [
    ...into.recent,
    ...from.recent.filter((r) => !into.recent.some((i) => same(i, r))),
  ]
    .sort((a, b) => a.at - b.at)
    .slice(-RECENT_KEPT);
  return { days, recent, seen: [...into.seen, ...fresh].slice(-SEEN_KEPT) };
}

/** The file backend of ComplaintStore (store.ts). */
export class ComplaintState implements ComplaintStore {
  readonly file: string;
  constructor(
    stateDir: string,
    readonly list: string,
  ) {
    this.file = join(stateDir, 'complaints', `${safeName(list)}.json`);
  }

  async read(): Promise<ComplaintRecord> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as ComplaintRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return { days: {}, recent: [], seen: [] };
      throw error;
    }
  }

  /** Counts `c` once; false when its event was counted already. */
  async add(c: Complaint, now: number): Promise<boolean> {
    await mkdir(dirname(this.file), { recursive: true });
    return withFileLock(this.file, async () => {
      const old = await this.read();
      const next = addComplaint(old, c, now);
      if (next === old) return false;
      await writeFileDurable(this.file, JSON.stringify(next, null, 1));
      return true;
    });
  }

  /** Adds the complaints of `record` not counted here yet (mergeComplaints); how many. */
  async merge(record: ComplaintRecord): Promise<number> {
    await mkdir(dirname(this.file), { recursive: true });
    return withFileLock(this.file, async () => {
      const old = await this.read();
      const next = mergeComplaints(old, record);
      if (next === old) return 0;
      await writeFileDurable(this.file, JSON.stringify(next, null, 1));
      return next.seen.length - old.seen.length;
    });
  }
}

/** A list's complaint standing today: the count, the deliveries, the rate. */
export interface ComplaintStanding {
  complaints: number;
  delivered: number;
  rate: number;
  recent: ComplaintRecord['recent'];
}

/** Today's standing of `list` (its complaints over the sent index's deliveries). */
export async function complaintStanding(
  complaints: ComplaintStore,
  sent: Pick<SentLog, 'deliveredOn'>,
  list: string,
  now = Date.now(),
): Promise<ComplaintStanding> {
  const record = await complaints.read();
  const today = record.days[isoDay(now)] ?? 0;
  const delivered = await sent.deliveredOn(list, now);
  return {
    complaints: today,
    delivered,
    rate: complaintRate(today, delivered),
    recent: record.recent,
  };
}
