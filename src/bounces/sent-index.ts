/**
 * The sent index: which Message-IDs a list delivered to which members lately, so a report
 * that reaches the plain bounce address (no VERP cookie: a list with `verp: false`, a
 * gateway that rewrote the envelope) counts only when the message it returns was really
 * sent to that member by this list. A forger who makes up a report names no such pair.
 *
 * Compact and append-only: one file per list and UTC day (`STATE/bounces/sent/LIST/DAY`),
 * one line per delivery report, `ID-HASH MEMBER-HASH MEMBER-HASH …`, each hash 8 base64url
 * characters of a SHA-256 (48 bits): ~9 bytes per member and post. Written when a delivery
 * reports members `delivered` (the first round, and later queue runs); files older than
 * `days` are removed when a new day's file is started. Losing it loses only this proof: a
 * VERP bounce never needs it.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { isoDay } from '../mail/iso-time.ts';
import { safeName } from '../state/safe-name.ts';
import type { SentEntry, SentLog } from './store.ts';

const DAY_MS = 86_400_000;
const DAY_FILE = /^\d{4}-\d{2}-\d{2}$/;
/** Days a delivery stays in the index. @default 14 */
export const SENT_INDEX_DAYS = 14;

/** 8 base64url characters of a SHA-256 (48 bits): what the index keeps of an id or an address. */
export function indexHash(text: string): string {
  return createHash('sha256').update(text).digest('base64url').slice(0, 8);
}

/** A Message-ID in the form both sides hash: without angle brackets, lower case. */
export function messageIdKey(id: string): string {
  return id.trim().replace(/^<|>$/g, '').trim().toLowerCase();
}

/** The file backend of SentLog (store.ts). */
export class SentIndex implements SentLog {
  readonly dir: string;
  constructor(
    stateDir: string,
    readonly days = SENT_INDEX_DAYS,
  ) {
    this.dir = join(stateDir, 'bounces', 'sent');
  }

  private listDir(list: string): string {
    return join(this.dir, safeName(list));
  }

  /** Records that `list` delivered `messageId` to `recipients` at `now`. */
  async record(list: string, messageId: string, recipients: string[], now: number): Promise<void> {
    const id = messageIdKey(messageId);
    const members = recipients.map((r) => normalizeAddress(r)).filter(Boolean);
    if (!id || members.length === 0) return;
    const dir = this.listDir(list);
    const file = join(dir, isoDay(now));
    const fresh = await stat(file).then(
      () => false,
      () => true,
    );
    await mkdir(dir, { recursive: true });
    await appendFile(file, `${indexHash(id)} ${members.map(indexHash).join(' ')}\n`);
    if (fresh) await this.prune(list, now);
  }

  /** True when `list` delivered one of `messageIds` to `member` within `days` before `now`. */
  async has(list: string, messageIds: string[], member: string, now: number): Promise<boolean> {
    const who = normalizeAddress(member);
    const ids = messageIds.map(messageIdKey).filter(Boolean).map(indexHash);
    if (!who || ids.length === 0) return false;
    const mine = ` ${indexHash(who)}`;
    for (let d = 0; d <= this.days; d++) {
      const text = await readFile(
        join(this.listDir(list), isoDay(now - d * DAY_MS)),
        'latin1',
      ).catch(() => '');
      for (const id of ids) {
        for (let at = text.indexOf(`${id} `); at >= 0; at = text.indexOf(`${id} `, at + 1)) {
          if (at > 0 && text[at - 1] !== '\n') continue;
          const end = text.indexOf('\n', at);
          const line = text.slice(at, end < 0 ? text.length : end);
          if (`${line} `.includes(`${mine} `)) return true;
        }
      }
    }
    return false;
  }

  /** How many member deliveries `list` recorded on the UTC day of `now` (a rate's denominator). */
  async deliveredOn(list: string, now: number): Promise<number> {
    const text = await readFile(join(this.listDir(list), isoDay(now)), 'latin1').catch(() => '');
    let count = 0;
    for (const line of text.split('\n')) if (line) count += line.split(' ').length - 1;
    return count;
  }

  async entries(list: string): Promise<SentEntry[]> {
    const names = await readdir(this.listDir(list)).catch(() => [] as string[]);
    const out: SentEntry[] = [];
    for (const day of names.filter((n) => DAY_FILE.test(n)).sort()) {
      const text = await readFile(join(this.listDir(list), day), 'latin1');
      for (const line of text.split('\n')) {
        const [id, ...members] = line.split(' ');
        if (id && members.length > 0) out.push({ day, id, members });
      }
    }
    return out;
  }

  async restore(list: string, entries: SentEntry[]): Promise<number> {
    const dir = this.listDir(list);
    await mkdir(dir, { recursive: true });
    let added = 0;
    for (const day of new Set(entries.map((e) => e.day))) {
      if (!DAY_FILE.test(day)) throw new Error(`sent index of ${list}: not a day: ${day}`);
      const file = join(dir, day);
      const have = new Set((await readFile(file, 'latin1').catch(() => '')).split('\n'));
      const lines = entries
        .filter((e) => e.day === day)
        .map((e) => `${e.id} ${e.members.join(' ')}`)
        .filter((line) => !have.has(line) && have.add(line));
      if (lines.length === 0) continue;
      await appendFile(file, `${lines.join('\n')}\n`);
      added += lines.length;
    }
    return added;
  }

  /** Removes the day files older than `days`. */
  private async prune(list: string, now: number): Promise<void> {
    const oldest = isoDay(now - this.days * DAY_MS);
    const names = await readdir(this.listDir(list)).catch(() => [] as string[]);
    for (const name of names)
      if (DAY_FILE.test(name) && name < oldest)
        await rm(join(this.listDir(list), name), { force: true });
  }
}
