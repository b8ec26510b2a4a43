/**
 * Bounce records of one list: one JSON file (`STATE/bounces/LIST.json`), changed under a
 * file lock and written atomically, so `malist run` and a queue runner can both record.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { normalizeAddress } from '../mail/address.ts';
import { writeFileDurable } from '../state/durable.ts';
import { withFileLock } from '../state/lock.ts';
import { safeName } from '../state/safe-name.ts';
import type { BounceRecord } from './score.ts';
import type { BounceStore } from './store.ts';

export type BounceRecords = Record<string, BounceRecord>;

/** The file backend of BounceStore (store.ts). */
export class BounceState implements BounceStore {
  readonly file: string;
  constructor(
    stateDir: string,
    readonly list: string,
  ) {
    this.file = join(stateDir, 'bounces', `${safeName(list)}.json`);
  }

  async all(): Promise<BounceRecords> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as BounceRecords;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
  }

  async get(address: string): Promise<BounceRecord | undefined> {
    return (await this.all())[normalizeAddress(address)];
  }

  /** Changes the record of `address` with `edit` (which may return undefined to drop it). */
  async change(
    address: string,
    edit: (record: BounceRecord | undefined) => BounceRecord | undefined,
  ): Promise<BounceRecord | undefined> {
    const key = normalizeAddress(address);
    return withFileLock(this.file, async () => {
      const all = await this.all();
      const next = edit(all[key]);
      if (next === all[key]) return next;
      if (next) all[key] = next;
      else delete all[key];
      await writeFileDurable(this.file, JSON.stringify(all, null, 1));
      return next;
    });
  }
}
