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
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { safeName } from '../state/safe-name.ts';

const SEEN_KEPT = 1000;
const RECENT_KEPT = 50;
const DAYS_KEPT = 90;

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

export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The record after one more complaint, or the same record when `c.id` was counted (pure). */
export function addComplaint(
  record: ComplaintRecord | undefined,
  c: Complaint,
  now: number,
): ComplaintRecord {
  const base: ComplaintRecord = record ?? { days: {}, recent: [], seen: [] };
  if (base.seen.includes(c.id)) return base;
  const day = dayOf(now);
  const oldest = dayOf(now - DAYS_KEPT * 86_400_000);
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

export class ComplaintState {
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
}

/** A list's complaint standing today: the count, the deliveries, the rate. */
export interface ComplaintStanding {
  complaints: number;
  delivered: number;
  rate: number;
  recent: ComplaintRecord['recent'];
}

/** Today's standing of `list` (complaints over the sent index's deliveries). */
export async function complaintStanding(
  stateDir: string,
  list: string,
  deliveredOn: (list: string, now: number) => Promise<number>,
  now = Date.now(),
): Promise<ComplaintStanding> {
  const record = await new ComplaintState(stateDir, list).read();
  const complaints = record.days[dayOf(now)] ?? 0;
  const delivered = await deliveredOn(list, now);
  return {
    complaints,
    delivered,
    rate: complaintRate(complaints, delivered),
    recent: record.recent,
  };
}
